package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/internal/minjson"
	"github.com/skywasm/skywasm/internal/queue"
	"github.com/skywasm/skywasm/protocol"
)

// Limits on what a remote peer can make this one hold.
const (
	// maxConnections bounds the connections of a Peer: every incoming offer
	// costs a PeerConnection.
	maxConnections = 256
	// maxPendingKeys and maxPendingPerKey bound the answers and candidates
	// kept for connections that do not exist yet.
	maxPendingKeys   = 64
	maxPendingPerKey = 64
	// pendingTTL is how long they are kept: late candidates for a
	// connection that has closed must not fill the table for good.
	pendingTTL = 30 * time.Second
)

// pending is what came for a connection before it existed.
type pending struct {
	since time.Time
	msgs  []protocol.Envelope
}

type peerState int

const (
	stateRunning      peerState = iota // connecting, open, or reconnecting
	stateDisconnected                  // Disconnect, or refused for good
	stateDestroyed
)

// connKey names a connection: connectionIds are chosen by the caller, so
// they are unique only per remote peer.
type connKey struct{ remote, id string }

// Peer is a client of a skywasm server: SkyWay's Peer.
type Peer struct {
	opts  PeerOptions
	base  *url.URL
	api   *webrtc.API
	token string

	events         *serial
	onOpen         latch[string]
	onCall         handler[*MediaConnection]
	onConnection   handler[*DataConnection]
	onClose        handler[struct{}]
	onDisconnected handler[string]
	onReconnected  handler[string]
	onExpiresIn    handler[int64]
	onError        handler[error]

	// out is the outbox: the signaling messages for the server, held
	// while the socket is not open.
	out       *queue.Queue[outMessage]
	destroyed atomic.Bool // the outbox was closed by Destroy
	// nodes is what the dispatcher said of the cluster; run's alone.
	nodes nodes

	mu         sync.Mutex
	node       *url.URL // the server connected to, or dialled next
	state      peerState
	id         string
	open       bool
	announced  bool          // open was fired since NewPeer or Reconnect
	opens      uint64        // open events fired: the number of the last
	openWait   chan struct{} // closed at the next OPEN
	refusal    ErrorType     // the ERROR that came before a refusing close
	lastErr    error
	turn       *protocol.TURNCredential
	credential *Credential
	conns      map[connKey]connection
	rooms      map[string]Room
	pending    map[connKey]*pending
	link       *link         // the open socket; nil during an outage
	linkUp     chan struct{} // closed when link is set
	stopRun    context.CancelFunc
	runDone    chan struct{}
	lastExists int64 // time of the last FetchPeerExists, Unix nanoseconds
}

// NewPeer validates opts and starts connecting to the server; OnOpen
// reports success. Like SkyWay's constructor it does not wait. A malformed
// key or ID is an *Error of type invalid-key or invalid-id.
func NewPeer(opts PeerOptions) (*Peer, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	base, _ := opts.baseURL()
	api := opts.API
	if api == nil {
		var err error
		if api, err = defaultAPI(); err != nil {
			return nil, fmt.Errorf("sdk: creating the WebRTC API: %w", err)
		}
	}
	if opts.Token == "" {
		opts.Token = protocol.RandomID(22)
	}
	p := &Peer{
		opts:       opts,
		base:       base,
		node:       base,
		api:        api,
		token:      opts.Token,
		events:     newSerial(),
		linkUp:     make(chan struct{}),
		id:         opts.ID,
		openWait:   make(chan struct{}),
		credential: opts.Credential,
		conns:      make(map[connKey]connection),
		rooms:      make(map[string]Room),
		pending:    make(map[connKey]*pending),
	}
	p.out = p.newOutbox()
	p.start()
	return p, nil
}

func (p *Peer) start() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	p.stopRun, p.runDone = cancel, done
	p.state = stateRunning
	p.announced = false
	go func() {
		defer close(done)
		p.run(ctx)
	}()
}

// ID is the peer's ID: the one asked for, or the server's choice once open.
func (p *Peer) ID() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.id
}

// Open reports whether the signaling socket is up and OPEN was received.
func (p *Peer) Open() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.open
}

// OnOpen sets the handler of the open event: the server accepted the peer
// under id. As in SkyWay it fires once per Peer, and again only after an
// explicit Reconnect: a transparent reconnection of the signaling socket is
// OnReconnected's. An open that came before the handler was set is
// delivered to it when it is set, unless WaitOpen returned it.
func (p *Peer) OnOpen(f func(id string)) { p.onOpen.set(p.events, f) }

// OnReconnected sets the handler of the reconnected event, which SkyWay
// lacked: the signaling socket dropped (OnDisconnected) and the Peer
// reconnected by itself, under the same id.
func (p *Peer) OnReconnected(f func(id string)) { p.onReconnected.set(f) }

// OnCall sets the handler of incoming calls; answer them with
// MediaConnection.Answer.
func (p *Peer) OnCall(f func(*MediaConnection)) { p.onCall.set(f) }

// OnConnection sets the handler of incoming data connections, which are
// accepted by themselves.
func (p *Peer) OnConnection(f func(*DataConnection)) { p.onConnection.set(f) }

// OnClose sets the handler of the close event, fired once by Destroy.
func (p *Peer) OnClose(f func()) { p.onClose.set(func(struct{}) { f() }) }

// OnDisconnected sets the handler of the disconnected event: the open
// signaling socket closed (Disconnect, Destroy, a refusal or a lost
// connection). After a lost connection an error of type socket-error
// follows, as in SkyWay, and the Peer reconnects by itself
// (OnReconnected).
func (p *Peer) OnDisconnected(f func(id string)) { p.onDisconnected.set(f) }

// OnExpiresIn sets the handler of the expiresin event: the credential
// expires in that many seconds; call UpdateCredential.
func (p *Peer) OnExpiresIn(f func(seconds int64)) { p.onExpiresIn.set(f) }

// OnError sets the handler of errors; most are *Error.
func (p *Peer) OnError(f func(error)) { p.onError.set(f) }

func (p *Peer) emitError(err error) {
	p.mu.Lock()
	p.lastErr = err
	p.mu.Unlock()
	p.opts.Logger.Debug("peer error", "err", err)
	emit(p.events, &p.onError, err)
}

// WaitOpen waits until the peer is open and returns its ID, or returns the
// error that stopped it.
func (p *Peer) WaitOpen(ctx context.Context) (string, error) {
	for {
		p.mu.Lock()
		if p.open {
			id, opens := p.id, p.opens
			p.mu.Unlock()
			p.onOpen.seen(opens)
			return id, nil
		}
		wait, done, state, lastErr := p.openWait, p.runDone, p.state, p.lastErr
		p.mu.Unlock()
		if state == stateDestroyed {
			return "", ErrClosed
		}
		select {
		case <-wait:
		case <-done:
			p.mu.Lock()
			open, err := p.open, p.lastErr
			p.mu.Unlock()
			if open {
				continue
			}
			if err == nil {
				err = newError(protocol.ErrDisconnected, "the peer is disconnected", nil)
			}
			return "", err
		case <-ctx.Done():
			if lastErr != nil {
				return "", fmt.Errorf("%w (last error: %v)", ctx.Err(), lastErr)
			}
			return "", ctx.Err()
		}
	}
}

func (p *Peer) handleOpen(payload json.RawMessage) {
	var o protocol.OpenPayload
	if err := minjson.Unmarshal(payload, &o); err != nil || o.PeerID == "" {
		p.opts.Logger.Warn("malformed OPEN", "err", err)
	}
	p.mu.Lock()
	p.id, p.open, p.turn, p.lastErr = o.PeerID, true, o.TURNCredential, nil
	close(p.openWait)
	p.openWait = make(chan struct{})
	first := !p.announced
	p.announced = true
	if first {
		p.opens++
	}
	opens := p.opens
	p.mu.Unlock()
	p.opts.Logger.Debug("open", "id", o.PeerID, "first", first)
	p.rejoinRooms()
	if first {
		p.onOpen.fire(p.events, opens, o.PeerID)
	} else {
		emit(p.events, &p.onReconnected, o.PeerID)
	}
}

// keepPending keeps an answer or candidate that came before its
// connection existed. p.mu is held.
func (p *Peer) keepPending(key connKey, env protocol.Envelope) {
	if env.Type == protocol.ForceClose {
		return
	}
	now := time.Now()
	for k, e := range p.pending {
		if now.Sub(e.since) > pendingTTL {
			delete(p.pending, k)
		}
	}
	e := p.pending[key]
	if (e == nil && len(p.pending) >= maxPendingKeys) || (e != nil && len(e.msgs) >= maxPendingPerKey) {
		p.opts.Logger.Warn("dropped a message for an unknown connection", "type", env.Type, "connectionId", key.id)
		return
	}
	if e == nil {
		e = &pending{since: now}
		p.pending[key] = e
	}
	e.msgs = append(e.msgs, env)
}

// register adds c to the peer's connections, first delivering what came
// for it in advance.
func (p *Peer) register(c connection) {
	b := c.base()
	key := connKey{b.remoteID, b.id}
	p.mu.Lock()
	p.conns[key] = c
	var early []protocol.Envelope
	if e := p.pending[key]; e != nil {
		early = e.msgs
	}
	delete(p.pending, key)
	p.mu.Unlock()
	for _, env := range early {
		var r protocol.RelayPayload
		if minjson.Unmarshal(env.Payload, &r) == nil {
			p.dispatchRelay(env, &r)
		}
	}
}

func (p *Peer) unregister(b *conn) {
	key := connKey{b.remoteID, b.id}
	p.mu.Lock()
	if c, ok := p.conns[key]; ok && c.base() == b {
		delete(p.conns, key)
	}
	p.mu.Unlock()
}

// allPeers makes connectionsOf return every connection.
const allPeers = ""

// connectionsOf returns the connections with remote, or all of them.
func (p *Peer) connectionsOf(remote string) []connection {
	p.mu.Lock()
	defer p.mu.Unlock()
	var list []connection
	for k, c := range p.conns {
		if remote == allPeers || k.remote == remote {
			list = append(list, c)
		}
	}
	return list
}

// deliverIncoming posts the event announcing an incoming connection, and
// lets the connection's own events go once its handler has returned.
func deliverIncoming[T any](p *Peer, h *handler[T], c T, q *serial) {
	p.events.Push(func() {
		if f := h.get(); f != nil {
			f(c)
		}
		q.Release()
	})
}

// GetConnection returns the connection connectionID with peerID, or nil.
func (p *Peer) GetConnection(peerID, connectionID string) Connection {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.conns[connKey{peerID, connectionID}]; ok {
		return c
	}
	return nil
}

// Connections returns the open and opening connections by remote peer ID,
// as SkyWay's peer.connections.
func (p *Peer) Connections() map[string][]Connection {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := make(map[string][]Connection)
	for k, c := range p.conns {
		if c.base().roomName == "" { // a mesh room's calls are the room's
			m[k.remote] = append(m[k.remote], c)
		}
	}
	return m
}

// checkOpen returns SkyWay's disconnected error unless the peer is open.
func (p *Peer) checkOpen() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == stateDestroyed {
		return ErrClosed
	}
	if !p.open {
		return newError(protocol.ErrDisconnected, "the peer is not connected to the server", nil)
	}
	return nil
}

// ICEServers returns the ICE servers that new connections use: those of
// PeerOptions.Config, then, once the Peer is open, the server's TURN servers
// with this peer's credential from OPEN, unless PeerOptions.DisableTURN.
func (p *Peer) ICEServers() []webrtc.ICEServer { return p.rtcConfiguration().ICEServers }

// rtcConfiguration is the configuration of a new PeerConnection: the
// application's, plus the server's TURN servers unless turned off.
func (p *Peer) rtcConfiguration() webrtc.Configuration {
	cfg := pionConfiguration(p.opts.Config)
	cfg.ICEServers = append([]webrtc.ICEServer(nil), cfg.ICEServers...)
	p.mu.Lock()
	turn := p.turn
	p.mu.Unlock()
	if turn != nil && !p.opts.DisableTURN && len(turn.URLs) > 0 {
		cfg.ICEServers = append(cfg.ICEServers, webrtc.ICEServer{
			URLs: turn.URLs, Username: turn.Username, Credential: turn.Password,
		})
	}
	return cfg
}

// Disconnect closes the signaling socket, which releases the ID on the
// server at once; connections stay up. Reconnect restores the socket.
func (p *Peer) Disconnect() {
	p.mu.Lock()
	if p.state != stateRunning {
		p.mu.Unlock()
		return
	}
	p.state = stateDisconnected
	stop, done, wasOpen, id := p.stopRun, p.runDone, p.open, p.id
	p.open = false
	p.mu.Unlock()
	stop()
	<-done
	if wasOpen {
		emit(p.events, &p.onDisconnected, id)
	}
}

// Reconnect opens the signaling socket again after Disconnect or a refusal,
// asking for the same ID.
func (p *Peer) Reconnect() error {
	p.mu.Lock()
	state, done := p.state, p.runDone
	p.mu.Unlock()
	switch state {
	case stateDestroyed:
		return ErrClosed
	case stateRunning:
		return nil
	}
	<-done
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == stateDisconnected && p.runDone == done {
		p.start()
	}
	return nil
}

// flush waits, for a second at most, until what the outbox holds has been
// written or the socket is gone.
func (p *Peer) flush(done <-chan struct{}) {
	p.mu.Lock()
	l := p.link
	p.mu.Unlock()
	if l == nil {
		return
	}
	flushed := make(chan struct{})
	if !p.out.Push(outMessage{flushed: flushed}) {
		return
	}
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-flushed:
	case <-l.done:
	case <-done:
	case <-t.C:
	}
}

// Destroy closes every connection and the signaling socket and fires close
// once, then disconnected if the peer was open, in SkyWay's order. The Peer
// cannot be used again.
func (p *Peer) Destroy() {
	p.mu.Lock()
	if p.state == stateDestroyed {
		p.mu.Unlock()
		return
	}
	p.state = stateDestroyed
	stop, done := p.stopRun, p.runDone
	p.mu.Unlock()
	// Rooms and connections close first, so their ROOM_LEAVE and
	// SEND_FORCE_CLOSE can still leave with the socket's orderly close.
	rooms := p.Rooms()
	for _, r := range rooms {
		r.Close()
	}
	for _, c := range p.connectionsOf(allPeers) {
		c.Close(true)
	}
	p.flush(done)
	stop()
	<-done
	// With the socket gone, the outbox's and the rooms' writers end at
	// once.
	p.destroyed.Store(true)
	p.out.Close()
	<-p.out.Done()
	for _, r := range rooms {
		<-r.base().sendQ.Done()
	}
	p.mu.Lock()
	wasOpen, id := p.open, p.id
	p.open = false
	p.mu.Unlock()
	// SkyWay's order: destroy() emitted close (its _cleanup), then
	// disconnected (its disconnect(true)), the latter only if the socket
	// was open.
	emit(p.events, &p.onClose, struct{}{})
	if wasOpen {
		emit(p.events, &p.onDisconnected, id)
	}
}

// UpdateCredential sends a fresh credential; it is also used for every
// reconnection from now on.
func (p *Peer) UpdateCredential(c Credential) error {
	p.mu.Lock()
	if p.state == stateDestroyed {
		p.mu.Unlock()
		return ErrClosed
	}
	p.credential = &c
	open := p.open
	p.mu.Unlock()
	if !open {
		return nil
	}
	return p.send(protocol.UpdateCredential, c)
}
