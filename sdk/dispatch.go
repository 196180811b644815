package sdk

import (
	"encoding/json"
	"fmt"

	"github.com/coder/websocket"

	"github.com/skywasm/skywasm/internal/minjson"
	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/sdk/internal/datapack"
)

// This file is where every message from the server is decoded and handed to
// the object it is for: the Peer, one of its connections, or one of its
// rooms. The objects' own handlers are their methods; which one gets a
// message is decided here alone.
//
// dispatch runs on the socket's read loop: nothing it calls may block. What
// takes time is queued by the object that gets it (a connection's ops, an
// object's events).

// dispatch decodes one message from the server and hands it on, reporting
// whether it was OPEN.
func (p *Peer) dispatch(typ websocket.MessageType, data []byte) (open bool) {
	if typ == websocket.MessageBinary {
		p.dispatchBinary(data) // only room data travels in binary frames
		return false
	}
	var env protocol.Envelope
	if err := minjson.Unmarshal(data, &env); err != nil {
		p.opts.Logger.Warn("unreadable message from the server", "err", err)
		return false
	}
	switch env.Type {
	case protocol.Open:
		p.handleOpen(env.Payload)
		return true
	case protocol.Error:
		p.dispatchError(env.Payload)
	case protocol.Offer, protocol.Answer, protocol.Candidate, protocol.ForceClose:
		var r protocol.RelayPayload
		if err := minjson.Unmarshal(env.Payload, &r); err != nil || r.Src == "" || r.ConnectionID == "" {
			p.opts.Logger.Warn("malformed relayed message", "type", env.Type, "err", err)
			return false
		}
		p.dispatchRelay(env, &r)
	case protocol.Leave:
		var l protocol.LeavePayload
		if minjson.Unmarshal(env.Payload, &l) == nil {
			for _, c := range p.connectionsOf(l.Src) {
				c.base().shutdown(false, "the remote peer left")
			}
		}
	case protocol.AuthExpiresIn:
		var a protocol.AuthExpiresInPayload
		if minjson.Unmarshal(env.Payload, &a) == nil {
			emit(p.events, &p.onExpiresIn, a.Seconds)
		}
	case protocol.RoomUserJoin, protocol.RoomUserLeave, protocol.RoomLogs, protocol.RoomData,
		protocol.SFUOffer, protocol.SFUCandidate:
		p.dispatchRoom(env)
	default:
		p.opts.Logger.Debug("ignored message", "type", env.Type)
	}
	return false
}

// dispatchError takes an ERROR: the Peer reports it, and it also goes to
// the connection or the room it names.
func (p *Peer) dispatchError(payload json.RawMessage) {
	var e protocol.ErrorPayload
	if err := minjson.Unmarshal(payload, &e); err != nil {
		p.opts.Logger.Warn("malformed ERROR", "err", err)
		return
	}
	sdkErr := &Error{Type: e.Type, Message: e.Message, ConnectionID: e.ConnectionID}
	p.mu.Lock()
	if !p.open {
		p.refusal = e.Type // the close that follows is reported by this
	}
	c := p.conns[connKey{e.Dst, e.ConnectionID}]
	p.mu.Unlock()
	p.emitError(sdkErr)
	// SkyWay's peer-unavailable was the Peer's error only: the connection
	// got no error and no close, and stays until the page closes it.
	if c != nil && e.Type != protocol.ErrPeerUnavailable {
		c.base().fail(sdkErr, false)
	}
	if e.RoomName != "" && e.Request == protocol.RoomJoin {
		if rm := p.room(e.RoomName); rm != nil {
			rm.base().joinRefused()
		}
	}
}

// dispatchRelay takes an OFFER, ANSWER, CANDIDATE or FORCE_CLOSE from
// another peer: to its connection, to the table of messages for
// connections not made yet, or, for a new offer, to a mesh room or the
// Peer's call and connection events. It also replays that table's
// messages when their connection registers.
func (p *Peer) dispatchRelay(env protocol.Envelope, r *protocol.RelayPayload) {
	key := connKey{r.Src, r.ConnectionID}
	p.mu.Lock()
	c := p.conns[key]
	if c == nil && env.Type != protocol.Offer {
		p.keepPending(key, env)
		p.mu.Unlock()
		return
	}
	full := len(p.conns) >= maxConnections
	p.mu.Unlock()

	switch {
	case env.Type == protocol.ForceClose:
		c.base().shutdown(false, "the remote peer closed the connection")
	case env.Type == protocol.Answer:
		if r.Answer != nil {
			c.base().handleAnswer(*r.Answer)
		}
	case env.Type == protocol.Candidate:
		c.base().handleCandidate(r.Candidate)
	case c != nil:
		c.handleOffer(r)
	case r.Offer == nil:
	case r.RoomName != "":
		if m, ok := p.room(r.RoomName).(*MeshRoom); ok && r.ConnectionType == protocol.Media && !full {
			m.incoming(r)
		}
	case full:
		p.opts.Logger.Warn("offer refused: too many connections", "src", r.Src)
	case r.ConnectionType == protocol.Media:
		p.incomingCall(r)
	case r.ConnectionType == protocol.Data:
		p.incomingData(r)
	}
}

// dispatchRoom takes a ROOM_* or SFU_* message, to the room it names.
func (p *Peer) dispatchRoom(env protocol.Envelope) {
	var head struct {
		RoomName string `json:"roomName"`
	}
	if err := minjson.Unmarshal(env.Payload, &head); err != nil {
		p.opts.Logger.Warn("malformed room message", "type", env.Type, "err", err)
		return
	}
	rm := p.room(head.RoomName)
	if rm == nil {
		p.opts.Logger.Debug("message for a room this peer is not in", "type", env.Type, "room", head.RoomName)
		return
	}
	r := rm.base()
	var err error
	switch env.Type {
	case protocol.RoomUserJoin:
		var j protocol.RoomUserJoinPayload
		if err = minjson.Unmarshal(env.Payload, &j); err == nil {
			r.handleJoin(&j, p.ID())
		}
	case protocol.RoomUserLeave:
		var l protocol.RoomUserLeavePayload
		if err = minjson.Unmarshal(env.Payload, &l); err == nil && l.Src != p.ID() {
			r.handleLeave(l.Src)
		}
	case protocol.RoomLogs:
		var l protocol.RoomLogsPayload
		if err = minjson.Unmarshal(env.Payload, &l); err == nil {
			emit(r.events, &r.onLog, l.Log)
		}
	case protocol.RoomData:
		var d struct {
			Src  string          `json:"src"`
			Data json.RawMessage `json:"data"`
		}
		if err = minjson.Unmarshal(env.Payload, &d); err == nil {
			var v any
			if err = unmarshalUserJSON(d.Data, &v); err == nil {
				emit(r.events, &r.onData, RoomData{Src: d.Src, Data: v})
			}
		}
	case protocol.SFUOffer:
		s, ok := rm.(*SFURoom)
		var o protocol.SFUOfferPayload
		if err = minjson.Unmarshal(env.Payload, &o); ok && err == nil {
			s.offer(&o)
		}
	case protocol.SFUCandidate:
		s, ok := rm.(*SFURoom)
		var c protocol.SFUCandidatePayload
		if ok && minjson.Unmarshal(env.Payload, &c) == nil {
			s.candidate(c.Candidate)
		}
	}
	if err != nil {
		p.opts.Logger.Warn("malformed room message", "type", env.Type, "err", err)
	}
}

// dispatchBinary takes a binary frame: room data, to the room it names.
func (p *Peer) dispatchBinary(frame []byte) {
	header, data, err := protocol.SplitBinaryFrame(frame)
	var env protocol.Envelope
	if err == nil {
		err = minjson.Unmarshal(header, &env)
	}
	var d protocol.RoomDataPayload
	if err == nil {
		err = minjson.Unmarshal(env.Payload, &d)
	}
	if err != nil || env.Type != protocol.RoomData {
		p.opts.Logger.Warn("unreadable binary frame from the server", "type", env.Type, "err", err)
		return
	}
	rm := p.room(d.RoomName)
	if rm == nil {
		return
	}
	v, err := datapack.Decode(data)
	if err != nil {
		p.emitError(newError(protocol.ErrRoom, fmt.Sprintf("undecodable data from %s in room %q", d.Src, d.RoomName), err))
		return
	}
	r := rm.base()
	emit(r.events, &r.onData, RoomData{Src: d.Src, Data: v})
}
