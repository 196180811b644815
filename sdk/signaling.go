package sdk

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/skywasm/skywasm/internal/minjson"
	"github.com/skywasm/skywasm/internal/queue"
	"github.com/skywasm/skywasm/protocol"
)

// maxOutbox bounds the signaling messages waiting for the socket during an
// outage; past it the oldest are dropped, since a connection whose candidates
// waited that long has failed anyway.
const maxOutbox = 1024

// outMessage is a signaling message waiting for the socket.
type outMessage struct {
	data []byte
	// flushed, if set, makes this a marker with no data: it is closed once
	// every message queued before it has been written (Peer.flush).
	flushed chan struct{}
}

// link is one signaling socket from OPEN until it ends: what the outbox and
// the rooms' data write to.
type link struct {
	c    *websocket.Conn
	done <-chan struct{} // closed when the socket's session ends
	stop context.CancelFunc
}

// newOutbox makes the Peer's outbox: held until the first OPEN, bounded by
// maxOutbox with the oldest message dropped.
func (p *Peer) newOutbox() *queue.Queue[outMessage] {
	q := queue.New(p.writeOut, queue.Config[outMessage]{
		Limit:   maxOutbox,
		Full:    queue.DropOldest,
		Dropped: p.dropOut,
	})
	q.Hold()
	return q
}

// signalingURL is the WebSocket address of node for one connection
// attempt.
func (p *Peer) signalingURL(node *url.URL) string {
	u := *node
	if u.Scheme == "https" {
		u.Scheme = "wss"
	} else {
		u.Scheme = "ws"
	}
	u.Path = "/v1/signaling"
	q := url.Values{"key": {p.opts.Key}, "token": {p.token}}
	p.mu.Lock()
	if p.id != "" {
		q.Set("peerId", p.id)
	}
	cred := p.credential
	p.mu.Unlock()
	if cred != nil {
		b, _ := minjson.Marshal(cred)
		q.Set("credential", string(b))
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// run keeps the signaling socket up until ctx ends or the server refuses
// the peer for good.
func (p *Peer) run(ctx context.Context) {
	delay := p.opts.ReconnectDelay
	reported := false // a failed dial was reported for this outage
	for {
		node := p.pickNode(ctx)
		opened, err := p.session(ctx, node)
		if ctx.Err() != nil {
			return
		}
		if opened {
			delay = p.opts.ReconnectDelay
			reported = false
			p.nodes.opened()
		}
		var dialErr *dialError
		// A node that gave the ID up (its cluster lease lapsed) is as
		// good as one that cannot be dialled: another takes the peer back.
		moved := errors.As(err, &dialErr) || websocket.CloseStatus(err) == protocol.CloseFenced
		if moved {
			p.nodes.dialFailed(node)
		}
		fatal := p.sessionEnded(opened, err, &reported)
		if fatal || p.opts.NoReconnect {
			p.mu.Lock()
			p.state = stateDisconnected
			p.mu.Unlock()
			return
		}
		if moved && p.nodes.untried() {
			// Another node of the cluster is left to try: its node died,
			// and the Peer's ID waits for it there only so long.
			p.opts.Logger.Debug("trying another node", "failed", node.String(), "err", err)
			continue
		}
		// Jitter keeps the peers of a restarted server from returning in
		// one wave.
		wait := delay/2 + rand.N(delay/2+1)
		p.opts.Logger.Debug("reconnecting", "in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		delay = min(2*delay, p.opts.MaxReconnectDelay)
	}
}

// sessionEnded reports the end of a socket to the application and says
// whether it was final.
func (p *Peer) sessionEnded(opened bool, err error, reported *bool) (fatal bool) {
	code := websocket.CloseStatus(err)
	errType, fatal := closeCodeError(code)
	p.mu.Lock()
	p.open = false
	id := p.id
	already := p.refusal
	p.refusal = ""
	p.mu.Unlock()
	if opened {
		emit(p.events, &p.onDisconnected, id)
	}
	switch {
	case fatal && already == "":
		p.emitError(newError(errType, fmt.Sprintf("the server closed the connection (%d)", code), err))
	case !fatal && opened:
		// SkyWay's peer.js: disconnected, then this error. The redials
		// of this outage that fail are not reported again.
		// SkyWay's exact message, which pages compare; the cause goes to
		// the log.
		*reported = true
		p.opts.Logger.Debug("lost the signaling connection", "err", err)
		p.emitError(newError(protocol.ErrSocket, "Lost connection to server.", nil))
	case !fatal && !opened && !*reported:
		*reported = true
		p.emitError(newError(protocol.ErrSocket, "cannot reach the signaling server", err))
	}
	return fatal
}

// closeCodeError maps a close code to the error it reports and whether the
// peer must stop reconnecting: the server refuses this peer, and trying
// again would be refused the same way.
func closeCodeError(code websocket.StatusCode) (ErrorType, bool) {
	switch code {
	case protocol.CloseInvalidKey:
		return protocol.ErrInvalidKey, true
	case protocol.CloseInvalidDomain:
		return protocol.ErrInvalidDomain, true
	case protocol.CloseAuthFailed:
		return protocol.ErrAuthentication, true
	case protocol.CloseInvalidID:
		return protocol.ErrInvalidID, true
	case protocol.CloseUnavailableID:
		return protocol.ErrUnavailableID, true
	case protocol.ClosePeerLimit:
		return protocol.ErrSignalingLimited, true
	case protocol.CloseReplaced:
		// Another socket took this peer over with its token: fighting
		// back would close that one.
		return protocol.ErrDisconnected, true
	case websocket.StatusPolicyViolation:
		return protocol.ErrInvalidMessage, true
	case protocol.CloseFenced:
		// The node gave the ID up, to be reclaimed with the token: on
		// another node, as after a drop.
		return protocol.ErrSocket, false
	}
	return protocol.ErrSocket, false
}

// dialError is a session's failure to dial its node at all.
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// session dials node and serves one socket until it ends, saying whether
// OPEN was received.
func (p *Peer) session(ctx context.Context, node *url.URL) (opened bool, err error) {
	p.mu.Lock()
	p.node = node
	p.mu.Unlock()
	dialCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	c, _, err := websocket.Dial(dialCtx, p.signalingURL(node), p.dialOptions())
	cancel()
	if err != nil {
		return false, &dialError{fmt.Errorf("failed to dial %s: %w", node.Host, err)}
	}
	c.SetReadLimit(protocol.MaxFrameSize)

	sctx, stop := context.WithCancel(ctx)
	defer stop()
	l := &link{c: c, done: sctx.Done(), stop: stop}
	openCh := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		p.keepalive(l, openCh)
	}()
	// A cancelled read leaves coder/websocket's connection without a
	// proper close; closing it ourselves sends 1000, which tells the
	// server to release the ID at once.
	go func() {
		defer wg.Done()
		<-sctx.Done()
		if ctx.Err() != nil {
			_ = c.Close(websocket.StatusNormalClosure, "")
		} else {
			_ = c.CloseNow()
		}
	}()
	err = p.read(l, openCh, &opened)
	p.detach(l)
	stop()
	wg.Wait()
	return opened, err
}

// read hands the server's messages to dispatch until the socket ends; at
// the first OPEN the socket starts taking the outbox and the rooms' data.
func (p *Peer) read(l *link, openCh chan struct{}, opened *bool) error {
	for {
		typ, data, err := l.c.Read(context.Background())
		if err != nil {
			return err
		}
		if p.dispatch(typ, data) && !*opened {
			*opened = true
			p.attach(l)
			close(openCh)
		}
	}
}

// keepalive sends a PING every protocol.PingInterval once OPEN has come.
func (p *Peer) keepalive(l *link, openCh chan struct{}) {
	select {
	case <-openCh:
	case <-l.done:
		return
	}
	ping := time.NewTicker(protocol.PingInterval)
	defer ping.Stop()
	pingFrame, _ := protocol.Marshal(protocol.Ping, nil)
	for {
		select {
		case <-l.done:
			return
		case <-ping.C:
			if p.write(l, websocket.MessageText, pingFrame) != nil {
				return
			}
		}
	}
}

// attach makes l the socket that the outbox and the rooms write to, and
// lets the outbox go.
func (p *Peer) attach(l *link) {
	p.mu.Lock()
	p.link = l
	close(p.linkUp)
	p.out.Release()
	p.mu.Unlock()
}

// detach stops writing to l if it is the current socket: the outbox holds
// what is sent from now on until the next OPEN.
func (p *Peer) detach(l *link) {
	p.mu.Lock()
	if p.link == l {
		p.link = nil
		p.linkUp = make(chan struct{})
		p.out.Hold()
	}
	p.mu.Unlock()
}

// waitLink returns the current socket, waiting for one during an outage;
// nil if done is closed first.
func (p *Peer) waitLink(done <-chan struct{}) *link {
	for {
		p.mu.Lock()
		l, up := p.link, p.linkUp
		p.mu.Unlock()
		if l != nil {
			return l
		}
		select {
		case <-up:
		case <-done:
			return nil
		}
	}
}

// write writes one message to l. A failed write ends l's session, as a
// failed read does, so that nothing more is written to a broken socket.
func (p *Peer) write(l *link, typ websocket.MessageType, data []byte) error {
	err := l.c.Write(newClosing(l.done), typ, data)
	if err != nil {
		p.opts.Logger.Debug("signaling write failed", "err", err)
		p.detach(l)
		l.stop()
	}
	return err
}

// send queues a message for the server; it goes out once the socket is open.
func (p *Peer) send(t protocol.MessageType, payload any) error {
	data, err := protocol.Marshal(t, payload)
	if err != nil {
		return fmt.Errorf("sdk: encoding %s: %w", t, err)
	}
	p.out.Push(outMessage{data: data}) // refused only after Destroy
	return nil
}

// writeOut is the outbox's handler: it writes m to the open socket.
func (p *Peer) writeOut(m outMessage) {
	if m.flushed != nil {
		close(m.flushed)
		return
	}
	p.mu.Lock()
	l := p.link
	p.mu.Unlock()
	if l == nil {
		// Taken from the outbox just as the socket dropped: lost with
		// the socket, as a message being written to it would be.
		p.opts.Logger.Debug("signaling message lost with the socket")
		return
	}
	_ = p.write(l, websocket.MessageText, m.data)
}

// dropOut takes what the outbox drops: the oldest message of a full
// outbox, or what is left at Destroy.
func (p *Peer) dropOut(m outMessage) {
	switch {
	case m.flushed != nil:
		close(m.flushed)
	case !p.destroyed.Load():
		p.opts.Logger.Warn("signaling outbox full: dropped the oldest message")
	}
}
