package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/skywasm/skywasm/protocol"
)

// maxOutbox bounds the signaling messages waiting for the socket during an
// outage; past it the oldest are dropped, since a connection whose candidates
// waited that long has failed anyway.
const maxOutbox = 1024

// outMessage is a signaling message waiting for the socket.
type outMessage struct {
	data   []byte
	binary bool
	// written, if set, is closed once the message has been written to the
	// socket, or the write failed.
	written chan struct{}
}

// signalingURL is the WebSocket address for one connection attempt.
func (p *Peer) signalingURL() string {
	u := *p.base
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
		b, _ := json.Marshal(cred)
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
		opened, err := p.session(ctx)
		if ctx.Err() != nil {
			return
		}
		if opened {
			delay = p.opts.ReconnectDelay
			reported = false
		}
		fatal := p.sessionEnded(opened, err, &reported)
		if fatal || p.opts.NoReconnect {
			p.mu.Lock()
			p.state = stateDisconnected
			p.mu.Unlock()
			return
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
		emit(&p.events, &p.onDisconnected, id)
	}
	switch {
	case fatal && already == "":
		p.emitError(newError(errType, fmt.Sprintf("the server closed the connection (%d)", code), err))
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
	}
	return protocol.ErrSocket, false
}

// session dials the server and serves one socket until it ends, saying
// whether OPEN was received.
func (p *Peer) session(ctx context.Context) (opened bool, err error) {
	dialCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	c, _, err := websocket.Dial(dialCtx, p.signalingURL(), p.dialOptions())
	cancel()
	if err != nil {
		return false, fmt.Errorf("failed to dial %s: %w", p.base.Host, err)
	}
	c.SetReadLimit(protocol.MaxFrameSize)

	sctx, stop := context.WithCancel(ctx)
	defer stop()
	openCh := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		p.write(sctx, c, openCh)
		stop()
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
	err = p.read(c, openCh, &opened)
	stop()
	wg.Wait()
	return opened, err
}

// read handles the server's messages until the socket ends.
func (p *Peer) read(c *websocket.Conn, openCh chan struct{}, opened *bool) error {
	for {
		typ, data, err := c.Read(context.Background())
		if err != nil {
			return err
		}
		if typ == websocket.MessageBinary {
			p.handleBinary(data) // only room data travels in binary frames
			continue
		}
		if p.handleText(data) && !*opened {
			*opened = true
			close(openCh)
		}
	}
}

// handleText handles one text message from the server and reports whether
// it was OPEN.
func (p *Peer) handleText(data []byte) (open bool) {
	var env protocol.Envelope
	if err := json.Unmarshal(data, &env); err != nil {
		p.opts.Logger.Warn("unreadable message from the server", "err", err)
		return false
	}
	if env.Type == protocol.Open {
		p.handleOpen(env.Payload)
		return true
	}
	p.handle(env)
	return false
}

// write sends the outbox once OPEN has come, and a PING every
// protocol.PingInterval.
func (p *Peer) write(ctx context.Context, c *websocket.Conn, openCh chan struct{}) {
	select {
	case <-openCh:
	case <-ctx.Done():
		return
	}
	ping := time.NewTicker(protocol.PingInterval)
	defer ping.Stop()
	pingFrame, _ := protocol.Marshal(protocol.Ping, nil)
	for {
		if m, ok := p.popOutbox(); ok {
			typ := websocket.MessageText
			if m.binary {
				typ = websocket.MessageBinary
			}
			err := c.Write(ctx, typ, m.data)
			if m.written != nil {
				close(m.written)
			}
			p.mu.Lock()
			p.writing = false
			p.mu.Unlock()
			if err != nil {
				p.opts.Logger.Debug("signaling write failed", "err", err)
				return
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-p.outReady:
		case <-ping.C:
			if err := c.Write(ctx, websocket.MessageText, pingFrame); err != nil {
				return
			}
		}
	}
}

// send queues a message for the server; it goes out once the socket is open.
func (p *Peer) send(t protocol.MessageType, payload any) error {
	data, err := protocol.Marshal(t, payload)
	if err != nil {
		return fmt.Errorf("sdk: encoding %s: %w", t, err)
	}
	p.enqueue(outMessage{data: data})
	return nil
}

func (p *Peer) enqueue(m outMessage) {
	p.mu.Lock()
	if len(p.outbox) >= maxOutbox {
		p.outbox[0] = outMessage{}
		p.outbox = p.outbox[1:]
		p.opts.Logger.Warn("signaling outbox full: dropped the oldest message")
	}
	p.outbox = append(p.outbox, m)
	p.mu.Unlock()
	select {
	case p.outReady <- struct{}{}:
	default:
	}
}

func (p *Peer) popOutbox() (outMessage, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.outbox) == 0 {
		return outMessage{}, false
	}
	m := p.outbox[0]
	p.writing = true
	p.outbox[0] = outMessage{}
	p.outbox = p.outbox[1:]
	if len(p.outbox) == 0 {
		p.outbox = nil
	}
	return m, true
}
