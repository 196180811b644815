package signaling

import (
	"context"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/config"
	"github.com/skywasm/skywasm/server/routing"
)

// endMode says what the end of a socket means for its peer.
type endMode int

const (
	// endDetach: the socket dropped; the ID waits for its token to
	// reconnect within the reclaim window, then the peer is gone.
	endDetach endMode = iota
	// endGone: the peer left; its ID is released, its rooms left and the
	// peers it talked to told (LEAVE).
	endGone
	// endQuiet: the ID passed to a new socket elsewhere; only this
	// server's state goes.
	endQuiet
	// endShutdown: this server is going away and the peer is expected
	// back, here or on another node, within its reclaim window. Its ID and
	// room places are given up without a word to anyone: no LEAVE, no
	// ROOM_USER_LEAVE, since the SDK closes its connections with the
	// sender of a LEAVE and the call must survive the restart.
	endShutdown
)

// peer is one ID claimed through this server. It is the routing.Inbox for
// that ID and outlives its socket for the reclaim window.
type peer struct {
	srv            *Server
	app            *config.App
	key, id, token string

	mu       sync.Mutex
	sess     *session           // nil while detached
	backlog  []*routing.Message // kept while detached
	contacts map[string]string  // peers to tell when this one leaves; the value interns the key
	rooms    map[string]*membership
	cred     *protocol.Credential // enforced credential, nil without peer authentication
	timers   [3]*time.Timer       // reclaim, expiry warning, expiry
	gone     bool
}

// The peer's timers.
const (
	reclaimTimer = iota
	warnTimer
	expireTimer
)

type membership struct {
	name string // the room's name, kept to avoid converting the client's bytes again
	typ  protocol.RoomType
	data bucket // paces ROOM_SEND_DATA
}

func newPeer(srv *Server, app *config.App, id, token string) *peer {
	return &peer{
		srv: srv, app: app, key: app.Key, id: id, token: token,
		contacts: make(map[string]string),
		rooms:    make(map[string]*membership),
	}
}

// Deliver implements routing.Inbox.
func (p *peer) Deliver(msg *routing.Message) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gone {
		msg.Release()
		return
	}
	if msg.Src != "" {
		p.contactLocked(msg.Src)
	}
	switch {
	case p.sess != nil:
		p.sess.enqueue(msg)
	case p.srv.cfg.BacklogLength == 0:
		msg.Release()
	case len(msg.Data) > LargeFrame && !p.srv.large.count(msg):
		msg.Release() // a large frame is kept only within the server's budget
	default:
		if len(p.backlog) == p.srv.cfg.BacklogLength {
			p.backlog[0].Release()
			p.backlog = append(p.backlog[:0], p.backlog[1:]...)
		}
		p.backlog = append(p.backlog, msg)
	}
}

// Evict implements routing.Inbox: the ID went to another socket, or the
// Router gave it up. Either way the peer lives on elsewhere: only this
// server's state goes.
func (p *peer) Evict(why routing.Eviction) {
	p.mu.Lock()
	sess := p.sess
	p.mu.Unlock()
	switch {
	case sess == nil:
		p.end(endQuiet)
	case why == routing.Fenced:
		sess.close(protocol.CloseFenced, "this node gave up the peer ID: reconnect with the token", endQuiet, nil)
	default:
		sess.close(protocol.CloseReplaced, "peer ID reclaimed by a newer connection", endQuiet, nil)
	}
}

// contact returns id as a string remembered for LEAVE, allocating only the
// first time this peer talks to id.
func (p *peer) contact(id []byte) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.contacts[string(id)]; ok {
		return s
	}
	return p.contactLocked(string(id))
}

func (p *peer) contactLocked(id string) string {
	// contacts is nil once the peer has ended: it remembers no one then.
	if _, ok := p.contacts[id]; !ok && p.contacts != nil && len(p.contacts) < p.srv.cfg.MaxContacts && id != p.id {
		p.contacts[id] = id
	}
	return id
}

// attach makes sess the peer's socket and hands it what was kept. A socket
// still attached (two reconnects with one token racing) is replaced.
func (p *peer) attach(sess *session) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gone {
		return false
	}
	if old := p.sess; old != nil && old != sess {
		old.close(protocol.CloseReplaced, "peer ID reclaimed by a newer connection", endQuiet, nil)
	}
	p.sess = sess
	p.stopLocked(reclaimTimer)
	for _, m := range p.backlog {
		sess.enqueue(m)
	}
	clear(p.backlog)
	p.backlog = p.backlog[:0]
	return true
}

// reclaim detaches the peer from its current socket, if any, for a new one
// with the same token. The old socket is closed without touching the peer.
func (p *peer) reclaim() bool {
	p.mu.Lock()
	if p.gone {
		p.mu.Unlock()
		return false
	}
	old := p.sess
	p.sess = nil
	p.stopLocked(reclaimTimer)
	p.mu.Unlock()
	if old != nil {
		old.close(protocol.CloseReplaced, "peer ID reclaimed by a newer connection", endQuiet, nil)
	}
	return true
}

// detached is called when sess has ended.
func (p *peer) detached(sess *session, mode endMode) {
	p.mu.Lock()
	if p.sess != sess {
		p.mu.Unlock()
		return // replaced by a newer socket already
	}
	p.sess = nil
	if mode == endDetach && p.srv.shuttingDown.Load() {
		mode = endShutdown // no timer outlives Shutdown
	}
	if mode == endDetach && p.token != "" && p.srv.cfg.ReclaimWindow > 0 && !p.gone {
		p.setTimerLocked(reclaimTimer, p.srv.cfg.ReclaimWindow, func() { p.end(endGone) })
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	if mode == endDetach {
		mode = endGone // no token, no reclaim
	}
	p.end(mode)
}

// end finishes the peer once; with endGone it also releases the ID, leaves
// its rooms and tells its contacts.
func (p *peer) end(mode endMode) {
	p.mu.Lock()
	if p.gone {
		p.mu.Unlock()
		return
	}
	if mode == endGone && p.srv.shuttingDown.Load() {
		mode = endShutdown // a peer ending during a shutdown is not leaving
	}
	p.gone = true
	for i := range p.timers {
		p.stopLocked(i)
	}
	for _, m := range p.backlog {
		m.Release()
	}
	p.backlog = nil
	rooms, contacts := p.rooms, p.contacts
	p.rooms, p.contacts = nil, nil
	p.mu.Unlock()

	defer p.srv.forget(p)
	if mode != endGone && mode != endShutdown {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := p.srv.cfg.Router
	if err := r.Release(ctx, p.key, p.id, p); err != nil {
		p.srv.log.Error("releasing a peer ID failed", "key", p.key, "peer", p.id, "err", err)
	}
	if mode == endGone {
		p.revokeTURN()
	}
	for name, mem := range rooms {
		if mode == endShutdown {
			p.srv.leaveRoomQuietly(ctx, p, name, mem.typ)
		} else {
			p.srv.leaveRoom(ctx, p, name, mem.typ)
		}
	}
	if mode == endShutdown || len(contacts) == 0 {
		return
	}
	leave, err := protocol.Marshal(protocol.Leave, protocol.LeavePayload{Src: p.id})
	if err != nil {
		return
	}
	for id := range contacts {
		msg := routing.NewMessage(false)
		msg.Data = append(msg.Data, leave...)
		_ = r.Send(ctx, p.key, id, msg) // a contact that left already needs no LEAVE
	}
}

// setCredential enforces c (nil: none) and schedules its warning and expiry.
func (p *peer) setCredential(c *protocol.Credential) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopLocked(warnTimer)
	p.stopLocked(expireTimer)
	p.cred = c
	if c == nil || p.gone {
		return
	}
	left := c.Expiry().Sub(p.srv.cfg.Now())
	p.setTimerLocked(warnTimer, max(0, left-p.srv.cfg.AuthExpiryWarning), func() {
		p.mu.Lock()
		current := p.cred == c
		p.mu.Unlock()
		if current {
			secs := int64(c.Expiry().Sub(p.srv.cfg.Now()).Round(time.Second) / time.Second)
			p.send(protocol.AuthExpiresIn, protocol.AuthExpiresInPayload{Seconds: max(0, secs)})
		}
	})
	p.setTimerLocked(expireTimer, max(0, left), func() {
		p.mu.Lock()
		current, sess := p.cred == c, p.sess
		p.mu.Unlock()
		if !current {
			return
		}
		if sess == nil {
			p.end(endGone)
			return
		}
		sess.closeWithError(protocol.CloseAuthFailed, protocol.Errorf(protocol.ErrAuthentication, "credential expired"), endGone)
	})
}

func (p *peer) setTimerLocked(i int, d time.Duration, f func()) {
	p.stopLocked(i)
	p.timers[i] = time.AfterFunc(d, f)
}

func (p *peer) stopLocked(i int) {
	if p.timers[i] != nil {
		p.timers[i].Stop()
		p.timers[i] = nil
	}
}

// send delivers a message the server composed to this peer.
func (p *peer) send(t protocol.MessageType, payload any) {
	if msg := p.composed(t, payload); msg != nil {
		p.Deliver(msg)
	}
}

// composed encodes a message the server composes; nil if it cannot be.
func (p *peer) composed(t protocol.MessageType, payload any) *routing.Message {
	frame, err := protocol.Marshal(t, payload)
	if err != nil {
		p.srv.log.Error("encoding a message failed", "type", t, "err", err)
		return nil
	}
	msg := routing.NewMessage(false)
	msg.Data = append(msg.Data, frame...)
	return msg
}

// closeCodeFor names a close code in metrics.
func closeCodeFor(code websocket.StatusCode) string {
	switch code {
	case websocket.StatusGoingAway:
		return "shutdown"
	case protocol.CloseAuthFailed:
		return "authentication"
	case protocol.CloseFlooding:
		return "flooding"
	case protocol.CloseIdle:
		return "idle"
	case protocol.CloseReplaced:
		return "replaced"
	case protocol.CloseFenced:
		return "fenced"
	case protocol.CloseSlowConsumer:
		return "slow-consumer"
	}
	return "other"
}
