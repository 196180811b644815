package signaling

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/routing"
)

// handle serves one frame from the client.
func (s *session) handle(ctx context.Context, frame []byte, binary bool, now time.Time) {
	if !s.bucket.allow(now) {
		s.limited++
		if s.limited >= protocol.MaxLimitedMessages {
			s.closeWithError(protocol.CloseFlooding, protocol.Errorf(protocol.ErrSignalingLimited, "too many messages; closing"), endGone)
			return
		}
		s.fail(protocol.Errorf(protocol.ErrSignalingLimited, "more than %d messages a second; message dropped", s.rate), nil)
		return
	}
	s.limited = 0
	m := clientMessages.Get().(*protocol.ClientMessage) // about 1.5 KB: no idle socket holds one
	defer clientMessages.Put(m)
	if err := protocol.Parse(m, frame, binary); err != nil {
		var perr *protocol.ProtocolError
		if !errors.As(err, &perr) {
			perr = protocol.Errorf(protocol.ErrInvalidMessage, "%v", err)
		}
		s.fail(perr, m)
		return
	}
	s.srv.cfg.Metrics.Received[m.Type].Inc()
	switch m.Type {
	case protocol.SendOffer, protocol.SendAnswer, protocol.SendCandidate, protocol.SendForceClose:
		s.relay(ctx, m)
	case protocol.RoomJoin:
		s.joinRoom(ctx, m)
	case protocol.RoomLeave:
		if typ, ok := s.roomType(m); ok {
			s.srv.leaveRoom(ctx, s.p, string(m.RoomName), typ)
		}
	case protocol.RoomGetUsers:
		if s.member(m) {
			name := string(m.RoomName)
			members, err := s.srv.cfg.Router.RoomMembers(ctx, s.p.key, name)
			if s.ok(err, m) {
				s.p.send(protocol.RoomUsers, protocol.RoomUsersPayload{RoomName: name, UserList: members})
			}
		}
	case protocol.RoomGetLogs:
		if !s.logs.allow(now) {
			s.fail(protocol.Errorf(protocol.ErrSignalingLimited, "at most one ROOM_GET_LOGS per %v, %d back to back; request dropped", s.srv.cfg.RoomLogsInterval, s.srv.cfg.RoomLogsBurst), m)
			return
		}
		if s.member(m) {
			s.roomLogs(ctx, m)
		}
	case protocol.RoomSendData:
		s.roomData(ctx, m, now)
	case protocol.SFUGetOffer, protocol.SFUAnswer, protocol.SFUCandidate:
		s.sfuMessage(ctx, m)
	case protocol.UpdateCredential:
		s.updateCredential(m)
	case protocol.Ping:
		// lastSeen is already updated.
	}
}

// relay forwards SEND_OFFER, SEND_ANSWER, SEND_CANDIDATE and
// SEND_FORCE_CLOSE. With a peer it has talked to before it allocates nothing.
func (s *session) relay(ctx context.Context, m *protocol.ClientMessage) {
	p := s.p
	dst := p.contact(m.Dst)
	msg := routing.NewMessage(false)
	msg.Data = protocol.AppendRelay(msg.Data, m, p.id)
	msg.Src = p.id
	err := s.srv.cfg.Router.Send(ctx, p.key, dst, msg)
	switch {
	case err == nil:
		out, _ := m.Type.Relayed()
		s.srv.cfg.Metrics.Relayed[out].Inc()
	case errors.Is(err, routing.ErrPeerUnavailable):
		s.fail(protocol.Errorf(protocol.ErrPeerUnavailable, "peer %q is not connected", dst), m)
	default:
		s.ok(err, m)
	}
}

func (s *session) joinRoom(ctx context.Context, m *protocol.ClientMessage) {
	p := s.p
	if m.RoomType == protocol.SFU && !p.app.Permissions.SFU {
		s.fail(protocol.Errorf(protocol.ErrPermission, "the app may not use SFU rooms"), m)
		return
	}
	name := string(m.RoomName)
	p.mu.Lock()
	_, already := p.rooms[name]
	full := !already && len(p.rooms) >= s.srv.cfg.MaxRoomsPerPeer
	p.mu.Unlock()
	if full {
		s.fail(protocol.Errorf(protocol.ErrRoom, "a peer may be in at most %d rooms", s.srv.cfg.MaxRoomsPerPeer), m)
		return
	}
	members, err := s.srv.cfg.Router.JoinRoom(ctx, routing.Join{
		Key: p.key, Room: name, Peer: p.id, Type: m.RoomType, MaxMembers: p.app.Limits.MaxRoomMembers,
	})
	switch {
	case errors.Is(err, routing.ErrRoomType):
		s.fail(protocol.Errorf(protocol.ErrRoom, "room %q is a room of the other type", name), m)
		return
	case errors.Is(err, routing.ErrRoomFull):
		s.fail(protocol.Errorf(protocol.ErrRoom, "room %q has its maximum of %d members", name, p.app.Limits.MaxRoomMembers), m)
		return
	case !s.ok(err, m):
		return
	}
	join := protocol.RoomUserJoinPayload{RoomName: name, RoomType: m.RoomType, Src: p.id, RoomMembers: members}
	if already {
		p.send(protocol.RoomUserJoin, join)
		return
	}
	p.mu.Lock()
	if p.rooms != nil {
		cfg := &s.srv.cfg
		mem := &membership{name: name, typ: m.RoomType}
		if cfg.RoomDataInterval > 0 {
			mem.data = everyBucket(cfg.RoomDataInterval, cfg.RoomDataBurst, cfg.Now())
		}
		p.rooms[name] = mem
	}
	p.mu.Unlock()
	if len(members) == 1 {
		s.srv.cfg.Metrics.Rooms.Inc()
	}
	if msg := p.composed(protocol.RoomUserJoin, join); msg != nil {
		s.ok(s.srv.cfg.Router.Broadcast(ctx, p.key, name, "", msg), m)
	}
}

// leaveRoom takes p out of a room and tells the others and p.
func (srv *Server) leaveRoom(ctx context.Context, p *peer, name string, typ protocol.RoomType) {
	p.mu.Lock()
	if p.rooms != nil {
		delete(p.rooms, name)
	}
	p.mu.Unlock()
	if typ == protocol.SFU && srv.cfg.SFU != nil {
		srv.cfg.SFU.Leave(routing.Member{Key: p.key, Room: name, Peer: p.id})
	}
	left, err := srv.cfg.Router.LeaveRoom(ctx, p.key, name, p.id)
	if err != nil {
		if !errors.Is(err, routing.ErrNotMember) {
			srv.log.Error("leaving a room failed", "key", p.key, "peer", p.id, "err", err)
		}
		return
	}
	if left == 0 {
		srv.cfg.Metrics.Rooms.Dec()
	}
	leave := protocol.RoomUserLeavePayload{RoomName: name, Src: p.id}
	p.send(protocol.RoomUserLeave, leave)
	if msg := p.composed(protocol.RoomUserLeave, leave); msg != nil && left > 0 {
		_ = srv.cfg.Router.Broadcast(ctx, p.key, name, p.id, msg)
	}
}

// leaveRoomQuietly takes p out of a room without telling anyone: for a peer
// that a shutting-down server lets go and that will come back.
func (srv *Server) leaveRoomQuietly(ctx context.Context, p *peer, name string, typ protocol.RoomType) {
	if typ == protocol.SFU && srv.cfg.SFU != nil {
		srv.cfg.SFU.Leave(routing.Member{Key: p.key, Room: name, Peer: p.id})
	}
	left, err := srv.cfg.Router.LeaveRoom(ctx, p.key, name, p.id)
	if err == nil && left == 0 {
		srv.cfg.Metrics.Rooms.Dec()
	}
}

// roomData fans a ROOM_SEND_DATA out to the room's other members.
func (s *session) roomData(ctx context.Context, m *protocol.ClientMessage, now time.Time) {
	p := s.p
	p.mu.Lock()
	var name string
	mem, member := p.rooms[string(m.RoomName)]
	limited := member && s.srv.cfg.RoomDataInterval > 0 && !mem.data.allow(now)
	if member && !limited {
		name = mem.name
	}
	p.mu.Unlock()
	switch {
	case !member:
		s.fail(protocol.Errorf(protocol.ErrRoom, "not a member of room %q", m.RoomName), m)
		return
	case limited:
		s.fail(protocol.Errorf(protocol.ErrSignalingLimited, "at most one ROOM_SEND_DATA per %v per room, %d back to back; message dropped", s.srv.cfg.RoomDataInterval, s.srv.cfg.RoomDataBurst), m)
		return
	}
	r := s.srv.cfg.Router
	if err := r.LogRoomData(ctx, p.key, name, p.id, m.Data, m.Binary); !s.ok(err, m) {
		return
	}
	msg := s.roomDataMessage(m)
	msg.Retain() // m may lie in msg's buffer: kept until the ERROR below is sent
	if s.ok(r.Broadcast(ctx, p.key, name, p.id, msg), m) {
		s.srv.cfg.Metrics.Relayed[protocol.RoomData].Inc()
	}
	msg.Release()
}

// roomDataMessage makes the ROOM_DATA for m. A large frame becomes it in
// place: the message takes the frame buffer and its share of the budget, so
// that every recipient shares the one copy that was read.
func (s *session) roomDataMessage(m *protocol.ClientMessage) *routing.Message {
	msg := routing.NewMessage(m.Binary)
	if s.big != nil {
		end := protocol.RoomDataHeadroom + len(s.frame)
		if out, ok := protocol.RoomDataInPlace(s.big[:end], m, s.p.id); ok {
			msg.Lend(&s.srv.large, s.big, 0)
			msg.Data = out
			s.big, s.frame = nil, nil
			return msg
		}
	}
	msg.Data = protocol.AppendRoomData(msg.Data, m, s.p.id)
	return msg
}

func (s *session) updateCredential(m *protocol.ClientMessage) {
	p := s.p
	if !p.app.Permissions.PeerAuthentication {
		return // nothing to renew
	}
	c := m.Credential
	if err := c.Verify(p.app.Secret, p.id, s.srv.cfg.Now()); err != nil {
		s.fail(protocol.Errorf(protocol.ErrAuthentication, "%v", err), m)
		return
	}
	p.setCredential(&c)
}

// member reports whether the peer is in m's room, and tells the client if not.
func (s *session) member(m *protocol.ClientMessage) bool {
	_, ok := s.roomType(m)
	return ok
}

// roomType returns the type of m's room, and whether the peer is in it;
// if not, it tells the client.
func (s *session) roomType(m *protocol.ClientMessage) (protocol.RoomType, bool) {
	s.p.mu.Lock()
	mem, ok := s.p.rooms[string(m.RoomName)]
	var typ protocol.RoomType
	if ok {
		typ = mem.typ
	}
	s.p.mu.Unlock()
	if !ok {
		s.fail(protocol.Errorf(protocol.ErrRoom, "not a member of room %q", m.RoomName), m)
	}
	return typ, ok
}

// ok reports whether err is nil, and tells the client of a server error.
func (s *session) ok(err error, m *protocol.ClientMessage) bool {
	if err == nil {
		return true
	}
	s.srv.log.Error("routing failed", "key", s.p.key, "peer", s.p.id, "type", m.Type, "err", err)
	s.fail(protocol.Errorf(protocol.ErrServer, "the server could not route the message"), m)
	return false
}

// fail sends ERROR perr about the client message m (nil if there was none).
func (s *session) fail(perr *protocol.ProtocolError, m *protocol.ClientMessage) {
	s.srv.cfg.Metrics.Errors.WithLabelValues(string(perr.Type)).Inc()
	e := protocol.ErrorPayload{Type: perr.Type, Message: perr.Message}
	if m != nil {
		e.Request, e.Dst, e.ConnectionID, e.RoomName = m.Type, string(m.Dst), string(m.ConnectionID), string(m.RoomName)
	}
	s.p.send(protocol.Error, e)
}

// roomLogs answers ROOM_GET_LOGS. From a routing.LogEncoder the log comes
// encoded, once per change of the room's log: the frame is that array
// within the envelope, so a full log costs a copy, not an encoding.
func (s *session) roomLogs(ctx context.Context, m *protocol.ClientMessage) {
	name := string(m.RoomName)
	enc, ok := s.srv.cfg.Router.(routing.LogEncoder)
	if !ok {
		log, err := s.srv.cfg.Router.RoomLog(ctx, s.p.key, name)
		if s.ok(err, m) {
			s.p.send(protocol.RoomLogs, protocol.RoomLogsPayload{RoomName: name, Log: log})
		}
		return
	}
	log, err := enc.RoomLogJSON(ctx, s.p.key, name)
	if !s.ok(err, m) {
		return
	}
	msg := routing.NewMessage(false)
	msg.Data = slices.Grow(msg.Data, len(log)+len(m.RoomNameJSON)+64)
	msg.Data = append(msg.Data, `{"type":"`+protocol.RoomLogs+`","payload":{"roomName":`...)
	msg.Data = append(msg.Data, m.RoomNameJSON...)
	msg.Data = append(msg.Data, `,"log":`...)
	msg.Data = append(msg.Data, log...)
	msg.Data = append(msg.Data, "}}"...)
	s.p.Deliver(msg)
}
