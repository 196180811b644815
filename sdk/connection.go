package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/internal/minjson"
	"github.com/skywasm/skywasm/protocol"
)

// maxEarlyCandidates bounds the remote candidates kept until the remote
// description is set.
const maxEarlyCandidates = 256

// connection is a MediaConnection or DataConnection, as the Peer sees it.
type connection interface {
	Connection
	base() *conn
	// handleOffer takes a re-offer on an existing connection.
	handleOffer(p *protocol.RelayPayload)
}

// ConnectionType says whether a connection is a MediaConnection or a
// DataConnection: ConnectionTypeMedia or ConnectionTypeData, SkyWay's
// "media" and "data".
type ConnectionType = protocol.ConnectionType

// The connection types.
const (
	// ConnectionTypeMedia is a MediaConnection's type, "media".
	ConnectionTypeMedia ConnectionType = protocol.Media
	// ConnectionTypeData is a DataConnection's type, "data".
	ConnectionTypeData ConnectionType = protocol.Data
)

// Connection is a MediaConnection or a DataConnection.
type Connection interface {
	// ID is the connectionId.
	ID() string
	// Type is ConnectionTypeMedia or ConnectionTypeData.
	Type() ConnectionType
	// RemoteID is the far peer's ID.
	RemoteID() string
	// Metadata is what the caller attached, as JSON; nil if nothing.
	Metadata() json.RawMessage
	// Open reports whether the connection is up.
	Open() bool
	// Close ends the connection; see MediaConnection.Close.
	Close(force bool)
	// PeerConnection is the underlying PeerConnection; nil before it exists.
	PeerConnection() *webrtc.PeerConnection
	// OnReconnecting and OnReconnected set the handlers of skywasm's ICE
	// recovery events (see ICE restarts in the package doc).
	OnReconnecting(func())
	OnReconnected(func())
}

// conn is what media and data connections share: the PeerConnection, the
// offer/answer exchange through the server, the candidates, and closing.
type conn struct {
	peer     *Peer
	id       string
	remoteID string
	typ      protocol.ConnectionType
	metadata json.RawMessage
	// roomName is the mesh room the connection belongs to, "" if none.
	roomName string
	// signal, if set, sends the connection's signaling instead of
	// relaying it to remoteID: an SFU room's link to the server.
	signal func(t protocol.MessageType, r protocol.RelayPayload)

	// ops runs this connection's negotiation steps one at a time, in the
	// order the messages that caused them arrived; in the browser they wait
	// on promises, which must not happen on the JavaScript event loop.
	ops     *serial
	events  *serial
	onClose handler[struct{}]
	onError handler[error]
	// room, set for a mesh room's call before it is registered, is the
	// room's share of the call's events; the handlers stay the page's.
	room *callHooks

	// mungeRemote rewrites a remote description before it is applied
	// (bandwidth limits); onShutdown releases what the outer type holds.
	mungeRemote func(sdp string) (string, error)
	onShutdown  func()

	// offerer is set on the side that made the first offer: the one that
	// restarts ICE (icerestart.go).
	offerer        bool
	onReconnecting handler[struct{}]
	onReconnected  handler[struct{}]

	mu         sync.Mutex
	pc         *webrtc.PeerConnection
	open       bool
	closed     bool
	remoteSet  bool
	candidates []webrtc.ICECandidateInit
	release    []func()
	done       chan struct{}
	// recovery is the ICE recovery under way, nil if none.
	recovery *recovery
}

func (c *conn) init(p *Peer, id, remoteID string, typ protocol.ConnectionType, metadata json.RawMessage, incoming bool) {
	c.peer, c.id, c.remoteID, c.typ, c.metadata = p, id, remoteID, typ, metadata
	c.done = make(chan struct{})
	c.ops, c.events = newSerial(), newSerial()
	if incoming {
		// Until the Peer's call or connection handler has seen it.
		c.events.Hold()
	}
}

// ID is the connectionId.
func (c *conn) ID() string { return c.id }

// Type is the connection's type.
func (c *conn) Type() ConnectionType { return c.typ }

// RemoteID is the far peer's ID.
func (c *conn) RemoteID() string { return c.remoteID }

// Metadata is the caller's metadata as JSON, nil if none was given.
func (c *conn) Metadata() json.RawMessage { return c.metadata }

// Open reports whether the connection is up.
func (c *conn) Open() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.open
}

// PeerConnection is the underlying PeerConnection, nil before it exists.
// In the browser, its JSValue is the page's RTCPeerConnection.
func (c *conn) PeerConnection() *webrtc.PeerConnection {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pc
}

// Done is closed when the connection has closed.
func (c *conn) Done() <-chan struct{} { return c.done }

// OnClose sets the handler of the close event, fired once whichever side
// ended the connection.
func (c *conn) OnClose(f func()) { c.onClose.set(func(struct{}) { f() }) }

// OnReconnecting sets the handler of skywasm's reconnecting event: the
// connection's ICE went disconnected or failed, and it is trying to recover
// (PeerOptions.ICERestartTimeout). It fires once per outage.
func (c *conn) OnReconnecting(f func()) { c.onReconnecting.set(func(struct{}) { f() }) }

// OnReconnected sets the handler of skywasm's reconnected event: ICE is
// connected again after a reconnecting event.
func (c *conn) OnReconnected(f func()) { c.onReconnected.set(func(struct{}) { f() }) }

// OnError sets the handler of the connection's errors.
func (c *conn) OnError(f func(error)) { c.onError.set(f) }

func (c *conn) base() *conn { return c }

// context is a context that ends when the connection closes, for the steps
// that wait on the browser.
func (c *conn) context() context.Context { return newClosing(c.done) }

// closing is a context done when a connection closes. It is made from the
// connection's own done channel, so it needs no goroutine to watch it.
type closing struct {
	context.Context
	done <-chan struct{}
}

func newClosing(done <-chan struct{}) closing {
	return closing{Context: context.Background(), done: done}
}

// Done is closed when the connection closes.
func (c closing) Done() <-chan struct{} { return c.done }

// Err is context.Canceled once the connection has closed.
func (c closing) Err() error {
	select {
	case <-c.done:
		return context.Canceled
	default:
		return nil
	}
}

// newPeerConnection creates the PeerConnection and wires its candidates
// and state to the connection.
func (c *conn) newPeerConnection() (*webrtc.PeerConnection, error) {
	pc, err := c.peer.api.NewPeerConnection(c.peer.rtcConfiguration())
	if err != nil {
		return nil, fmt.Errorf("failed to create a PeerConnection: %w", err)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		_ = pc.Close()
		return nil, ErrClosed
	}
	c.pc = pc
	c.mu.Unlock()
	stop := watchLocalCandidates(pc, func(candidate json.RawMessage) {
		c.sendRelay(protocol.SendCandidate, protocol.RelayPayload{Candidate: candidate})
	})
	c.addRelease(stop)
	pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		c.peer.opts.Logger.Debug("ICE state", "connectionId", c.id, "state", s)
		c.iceStateChanged(s)
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			if c.typ == protocol.Media { // a data connection opens with its channel
				c.mu.Lock()
				c.open = !c.closed
				c.mu.Unlock()
			}
		case webrtc.PeerConnectionStateFailed:
			if !c.restarts() {
				go c.shutdown(false, "the PeerConnection failed")
			}
		case webrtc.PeerConnectionStateClosed:
			go c.shutdown(false, "the PeerConnection closed")
		}
	})
	return pc, nil
}

// addRelease makes f run when the connection closes, or now if it has.
func (c *conn) addRelease(f func()) {
	c.mu.Lock()
	closed := c.closed
	if !closed {
		c.release = append(c.release, f)
	}
	c.mu.Unlock()
	if closed {
		f()
	}
}

// sendRelay sends a relayed message about this connection.
func (c *conn) sendRelay(t protocol.MessageType, r protocol.RelayPayload) {
	if c.signal != nil {
		c.signal(t, r)
		return
	}
	r.Dst, r.ConnectionID, r.RoomName = c.remoteID, c.id, c.roomName
	if t != protocol.SendForceClose {
		r.ConnectionType = c.typ
	}
	if err := c.peer.send(t, r); err != nil {
		c.fail(err, false)
	}
}

// handleAnswer applies the far side's answer.
func (c *conn) handleAnswer(desc protocol.SessionDescription) {
	c.ops.Push(func() {
		if err := c.setRemote(webrtc.SDPTypeAnswer, desc.SDP); err != nil {
			c.fail(err, true)
		}
	})
}

// setRemote applies a remote description, then the candidates that came
// before it.
func (c *conn) setRemote(t webrtc.SDPType, sdp string) error {
	c.mu.Lock()
	pc, closed := c.pc, c.closed
	c.mu.Unlock()
	if closed || pc == nil {
		return ErrClosed
	}
	if c.mungeRemote != nil {
		var err error
		if sdp, err = c.mungeRemote(sdp); err != nil {
			return err
		}
	}
	if err := setRemoteDescription(c.context(), pc, webrtc.SessionDescription{Type: t, SDP: sdp}); err != nil {
		return fmt.Errorf("failed to set the remote %s: %w", t, err)
	}
	c.mu.Lock()
	c.remoteSet = true
	early := c.candidates
	c.candidates = nil
	c.mu.Unlock()
	for _, cand := range early {
		c.addCandidate(pc, cand)
	}
	return nil
}

// handleCandidate applies a remote candidate, or keeps it until the remote
// description is set.
func (c *conn) handleCandidate(raw json.RawMessage) {
	var cand webrtc.ICECandidateInit
	if err := minjson.Unmarshal(raw, &cand); err != nil {
		c.peer.opts.Logger.Warn("malformed remote candidate", "connectionId", c.id, "err", err)
		return
	}
	if cand.Candidate == "" {
		return // end of candidates
	}
	c.ops.Push(func() {
		c.mu.Lock()
		pc, ready := c.pc, c.remoteSet && !c.closed
		if !ready {
			if len(c.candidates) < maxEarlyCandidates {
				c.candidates = append(c.candidates, cand)
			}
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		c.addCandidate(pc, cand)
	})
}

func (c *conn) addCandidate(pc *webrtc.PeerConnection, cand webrtc.ICECandidateInit) {
	if err := addICECandidate(c.context(), pc, cand); err != nil {
		c.peer.opts.Logger.Debug("remote candidate refused", "connectionId", c.id, "err", err)
	}
}

// offer creates and sends an offer (or a re-offer) with extra fields.
func (c *conn) offer(pc *webrtc.PeerConnection, r protocol.RelayPayload) error {
	return c.offerWith(pc, r, false)
}

// offerWith is offer, with new ICE credentials if iceRestart.
func (c *conn) offerWith(pc *webrtc.PeerConnection, r protocol.RelayPayload, iceRestart bool) error {
	o, err := setLocalOffer(c.context(), pc, iceRestart)
	if err != nil {
		return fmt.Errorf("failed to set a local offer: %w", err)
	}
	c.peer.opts.Logger.Debug("sending an offer", "connectionId", c.id)
	r.Offer = &protocol.SessionDescription{Type: "offer", SDP: o.SDP}
	c.sendRelay(protocol.SendOffer, r)
	handOff()
	return nil
}

// answer applies an offer and sends the answer; before is run between the
// two, to attach the local media.
func (c *conn) answer(offer string, before func(pc *webrtc.PeerConnection) error) error {
	if err := c.setRemote(webrtc.SDPTypeOffer, offer); err != nil {
		return err
	}
	c.mu.Lock()
	pc := c.pc
	c.mu.Unlock()
	if before != nil {
		if err := before(pc); err != nil {
			return err
		}
	}
	a, err := setLocalAnswer(c.context(), pc)
	if err != nil {
		return fmt.Errorf("failed to set a local answer: %w", err)
	}
	c.peer.opts.Logger.Debug("sending an answer", "connectionId", c.id)
	c.sendRelay(protocol.SendAnswer, protocol.RelayPayload{
		Answer: &protocol.SessionDescription{Type: "answer", SDP: a.SDP},
	})
	handOff()
	return nil
}

// handOff lets the outbox write the offer or answer just queued before this
// goroutine takes the connection's next step. In the browser every
// goroutine shares the page's one thread, and the next step is often a
// remote candidate that arrived meanwhile, whose addIceCandidate would run
// first and hold the description back; natively it costs a yield.
func handOff() { runtime.Gosched() }

// fail reports err on the connection, and closes it if asked. A step that
// failed because the connection had closed meanwhile is not an error.
func (c *conn) fail(err error, closeIt bool) {
	if errors.Is(err, ErrClosed) {
		return
	}
	c.peer.opts.Logger.Debug("connection error", "connectionId", c.id, "err", err)
	if c.room != nil {
		// A mesh room's call reports its errors to the Peer, as SkyWay's
		// rooms did, and not twice.
		c.events.Push(func() { c.room.err(err) })
	} else {
		emit(c.events, &c.onError, err)
	}
	if closeIt {
		c.shutdown(false, err.Error())
	}
}

// shutdown closes the connection once; notify tells the far side.
func (c *conn) shutdown(notify bool, reason string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed, c.open = true, false
	c.endRecovery()
	pc, release := c.pc, c.release
	c.release, c.candidates = nil, nil
	c.mu.Unlock()
	c.peer.opts.Logger.Debug("connection closed", "connectionId", c.id, "reason", reason)
	if notify && protocol.ValidPeerID(c.remoteID) { // the server refuses a message to an ID nobody can have
		c.sendRelay(protocol.SendForceClose, protocol.RelayPayload{})
	}
	c.peer.unregister(c)
	if c.onShutdown != nil {
		c.onShutdown()
	}
	for _, f := range release {
		f()
	}
	if pc != nil {
		_ = pc.Close()
	}
	close(c.done)
	c.events.Push(func() {
		// The room hears first: it registered its listeners before the
		// page could, as SkyWay's MeshRoom did.
		if c.room != nil {
			c.room.close()
		}
		if f := c.onClose.get(); f != nil {
			f(struct{}{})
		}
	})
}

// callHooks are what a mesh room does with the events of one of its calls.
type callHooks struct {
	stream func(*MediaStream)
	close  func()
	err    func(error)
}
