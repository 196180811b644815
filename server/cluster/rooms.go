package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/routing"
)

// getRoom reads a room; a nil value means there is none.
func (r *Router) getRoom(ctx context.Context, key, name string) (*roomValue, uint64, error) {
	e, err := r.rooms.Get(ctx, roomKey(key, name))
	switch {
	case notFound(err):
		return nil, 0, nil
	case err != nil:
		return nil, 0, fmt.Errorf("cluster: reading room %q: %w", name, err)
	}
	var v roomValue
	if err := json.Unmarshal(e.Value(), &v); err != nil {
		return nil, 0, fmt.Errorf("cluster: room %q: %w", name, err)
	}
	return &v, e.Revision(), nil
}

// JoinRoom implements routing.Router.
func (r *Router) JoinRoom(ctx context.Context, j routing.Join) ([]string, error) {
	ctx, cancel := r.bound(ctx)
	defer cancel()
	k := roomKey(j.Key, j.Room)
	for try := range 64 {
		if try > 0 && !backoff(ctx, try) {
			break
		}
		v, rev, err := r.getRoom(ctx, j.Key, j.Room)
		if err != nil {
			return nil, err
		}
		switch {
		case v == nil:
			v = &roomValue{Type: j.Type, Epoch: newID()}
		case v.Type != j.Type:
			return nil, routing.ErrRoomType
		case slices.Contains(v.Members, j.Peer):
			if err := r.joinLocal(ctx, j.Key, j.Room, j.Peer, v.Epoch); err != nil {
				return nil, err
			}
			return v.Members, nil
		case j.MaxMembers > 0 && len(v.Members) >= j.MaxMembers:
			return nil, routing.ErrRoomFull
		}
		v.Members = append(v.Members, j.Peer)
		if rev == 0 {
			_, err = r.rooms.Create(ctx, k, mustJSON(v))
		} else {
			_, err = r.rooms.Update(ctx, k, mustJSON(v), rev)
		}
		if conflict(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cluster: joining room %q: %w", j.Room, err)
		}
		if err := r.joinLocal(ctx, j.Key, j.Room, j.Peer, v.Epoch); err != nil {
			return nil, err
		}
		r.appendLog(ctx, j.Key, j.Room, v.Epoch, logValue{Type: protocol.RoomUserJoin, Src: j.Peer})
		return slices.Clone(v.Members), nil
	}
	return nil, fmt.Errorf("cluster: joining room %q: the room kept changing", j.Room)
}

// joinLocal records that peer joined a room through this node, subscribing
// to the room's broadcasts for its first member here.
func (r *Router) joinLocal(ctx context.Context, key, name, peer, epoch string) error {
	subj := roomSubject(key, name)
	r.mu.Lock()
	if lr := r.local[subj]; lr != nil {
		lr.members[peer] = struct{}{}
		lr.epoch = epoch
		r.mu.Unlock()
		return nil
	}
	r.mu.Unlock()
	sub, err := r.nc.ChanSubscribe(subj, r.ch)
	if err == nil {
		err = r.nc.FlushWithContext(ctx)
	}
	if err != nil {
		if sub != nil {
			_ = sub.Unsubscribe()
		}
		return fmt.Errorf("cluster: subscribing to room %q: %w", name, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if lr := r.local[subj]; lr != nil { // another member raced this one
		_ = sub.Unsubscribe()
		lr.members[peer] = struct{}{}
		lr.epoch = epoch
		return nil
	}
	r.local[subj] = &localRoom{key: key, name: name, epoch: epoch, sub: sub, members: map[string]struct{}{peer: {}}}
	return nil
}

// leaveLocal forgets that peer is in a room through this node.
func (r *Router) leaveLocal(key, name, peer string) {
	subj := roomSubject(key, name)
	r.mu.Lock()
	lr := r.local[subj]
	if lr == nil {
		r.mu.Unlock()
		return
	}
	delete(lr.members, peer)
	if len(lr.members) > 0 {
		r.mu.Unlock()
		return
	}
	delete(r.local, subj)
	r.mu.Unlock()
	_ = lr.sub.Unsubscribe()
}

// LeaveRoom implements routing.Router.
func (r *Router) LeaveRoom(ctx context.Context, key, name, peer string) (int, error) {
	r.leaveLocal(key, name, peer)
	ctx, cancel := r.bound(ctx)
	defer cancel()
	k := roomKey(key, name)
	for try := range 64 {
		if try > 0 && !backoff(ctx, try) {
			break
		}
		v, rev, err := r.getRoom(ctx, key, name)
		if err != nil {
			return 0, err
		}
		if v == nil {
			return 0, routing.ErrNotMember
		}
		i := slices.Index(v.Members, peer)
		if i < 0 {
			return len(v.Members), routing.ErrNotMember
		}
		v.Members = slices.Delete(v.Members, i, i+1)
		if len(v.Members) == 0 {
			err = r.rooms.Delete(ctx, k, jetstream.LastRevision(rev))
		} else {
			_, err = r.rooms.Update(ctx, k, mustJSON(v), rev)
		}
		if conflict(err) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("cluster: leaving room %q: %w", name, err)
		}
		if len(v.Members) == 0 {
			r.purgeLog(ctx, key, name, logSubject(key, name, v.Epoch), 0)
			return 0, nil
		}
		r.appendLog(ctx, key, name, v.Epoch, logValue{Type: protocol.RoomUserLeave, Src: peer})
		return len(v.Members), nil
	}
	return 0, fmt.Errorf("cluster: leaving room %q: the room kept changing", name)
}

// RoomMembers implements routing.Router.
func (r *Router) RoomMembers(ctx context.Context, key, name string) ([]string, error) {
	ctx, cancel := r.bound(ctx)
	defer cancel()
	v, _, err := r.getRoom(ctx, key, name)
	if v == nil || err != nil {
		return nil, err
	}
	return v.Members, nil
}

// Broadcast implements routing.Router. Members on this node get msg at
// once; the other nodes get it through the room's subject, in the order
// this node published.
func (r *Router) Broadcast(ctx context.Context, key, name, except string, msg *routing.Message) error {
	subj := roomSubject(key, name)
	r.deliverRoom(subj, except, msg)
	defer msg.Release()
	hdr := nats.Header{}
	hdr.Set(hdrOrigin, r.Incarnation())
	if except != "" {
		hdr.Set(hdrExcept, except)
	}
	if msg.Binary {
		hdr.Set(hdrBinary, "1")
	}
	ctx, cancel := r.bound(ctx)
	defer cancel()
	if _, err := r.publish(ctx, subj, msg.Data, hdr, false); err != nil {
		return fmt.Errorf("cluster: broadcasting to room %q: %w", name, err)
	}
	r.m.RelaysOut.Inc()
	return nil
}

// deliverRoom hands msg to the room's members held on this node but
// except, each taking a reference of its own.
func (r *Router) deliverRoom(subj, except string, msg *routing.Message) {
	r.mu.Lock()
	lr := r.local[subj]
	var inboxes []routing.Inbox
	if lr != nil {
		for id := range lr.members {
			if id == except {
				continue
			}
			if h := r.holders[peerSubject(lr.key, id)]; h != nil {
				inboxes = append(inboxes, h.inbox)
			}
		}
	}
	r.mu.Unlock()
	for _, in := range inboxes {
		msg.Retain()
		in.Deliver(msg)
	}
}

// LogRoomData implements routing.Router.
func (r *Router) LogRoomData(ctx context.Context, key, name, src string, data []byte, binary bool) error {
	ctx, cancel := r.bound(ctx)
	defer cancel()
	r.mu.Lock()
	var epoch string
	if lr := r.local[roomSubject(key, name)]; lr != nil {
		epoch = lr.epoch
	}
	r.mu.Unlock()
	if epoch == "" {
		v, _, err := r.getRoom(ctx, key, name)
		if v == nil || err != nil {
			return err
		}
		epoch = v.Epoch
	}
	e := logValue{Type: protocol.RoomData, Src: src, Size: len(data)}
	if !binary && len(data) <= protocol.MaxLoggedData {
		e.Data = data
	}
	return r.appendLogErr(ctx, key, name, epoch, e)
}

func (r *Router) appendLog(ctx context.Context, key, name, epoch string, e logValue) {
	if err := r.appendLogErr(ctx, key, name, epoch, e); err != nil {
		r.log.Warn("logging a room event failed", "room", name, "err", err)
	}
}

func (r *Router) appendLogErr(ctx context.Context, key, name, epoch string, e logValue) error {
	if _, err := r.logStream(ctx, key); err != nil {
		return err
	}
	e.At = r.now().UnixMilli()
	if _, err := r.js.Publish(ctx, logSubject(key, name, epoch), mustJSON(e)); err != nil {
		return fmt.Errorf("cluster: logging to room %q: %w", name, err)
	}
	return nil
}

// logStream returns the stream of key's room logs, made on first use. One
// stream a key lets JetStream bound a key's logs in bytes (MaxBytes, its
// oldest events dropped first) as well as each room's in events
// (MaxMsgsPerSubject).
func (r *Router) logStream(ctx context.Context, key string) (jetstream.Stream, error) {
	r.mu.Lock()
	s := r.logs[key]
	r.mu.Unlock()
	if s != nil {
		return s, nil
	}
	name := logStream + token(key)
	sc := jetstream.StreamConfig{
		Name: name, Subjects: []string{logPrefix + token(key) + ".>"}, Storage: jetstream.MemoryStorage,
		Replicas: r.cfg.Replicas, MaxMsgsPerSubject: protocol.MaxRoomLog, MaxBytes: r.cfg.KeyLogBytes,
		Discard: jetstream.DiscardOld,
	}
	s, err := r.js.CreateStream(ctx, sc)
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		s, err = r.js.Stream(ctx, name)
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: stream %s: %w", name, err)
	}
	r.mu.Lock()
	r.logs[key] = s
	r.mu.Unlock()
	return s, nil
}

// purgeLog drops the events of a room's log before stream sequence keep,
// or all of them with keep 0.
func (r *Router) purgeLog(ctx context.Context, key, name, subj string, keep uint64) {
	s, err := r.logStream(ctx, key)
	if err == nil {
		opts := []jetstream.StreamPurgeOpt{jetstream.WithPurgeSubject(subj)}
		if keep > 0 {
			opts = append(opts, jetstream.WithPurgeSequence(keep))
		}
		err = s.Purge(ctx, opts...)
	}
	if err != nil {
		r.log.Warn("purging a room log failed", "room", name, "err", err)
	}
}

// RoomLog implements routing.Router.
func (r *Router) RoomLog(ctx context.Context, key, name string) ([]protocol.LogEntry, error) {
	ctx, cancel := r.bound(ctx)
	defer cancel()
	epoch, err := r.roomEpoch(ctx, key, name)
	if epoch == "" || err != nil {
		return nil, err
	}
	log, _, err := r.readLog(ctx, key, name, epoch, 0)
	return log, err
}

// RoomLogJSON implements routing.LogEncoder. A room with members on this
// node keeps its log encoded as of the stream's last sequence for the
// room, so that an unchanged log costs one look-up, not a read of up to
// protocol.MaxRoomLog events and their encoding.
func (r *Router) RoomLogJSON(ctx context.Context, key, name string) ([]byte, error) {
	ctx, cancel := r.bound(ctx)
	defer cancel()
	epoch, err := r.roomEpoch(ctx, key, name)
	if err != nil {
		return nil, err
	}
	if epoch == "" {
		return []byte("[]"), nil
	}
	s, err := r.logStream(ctx, key)
	if err != nil {
		return nil, err
	}
	subj := logSubject(key, name, epoch)
	last, err := s.GetLastMsgForSubject(ctx, subj)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return []byte("[]"), nil
	case err != nil:
		return nil, fmt.Errorf("cluster: reading the log of room %q: %w", name, err)
	}
	rs := roomSubject(key, name)
	r.mu.Lock()
	if lr := r.local[rs]; lr != nil && lr.epoch == epoch && lr.logJSON != nil && lr.logSeq == last.Sequence {
		enc := lr.logJSON
		r.mu.Unlock()
		return enc, nil
	}
	r.mu.Unlock()
	log, seq, err := r.readLog(ctx, key, name, epoch, last.Sequence)
	if err != nil {
		return nil, err
	}
	enc, err := json.Marshal(log)
	if err != nil {
		return nil, fmt.Errorf("cluster: encoding the log of room %q: %w", name, err)
	}
	r.mu.Lock()
	if lr := r.local[rs]; lr != nil && lr.epoch == epoch && seq >= lr.logSeq {
		lr.logJSON, lr.logSeq = enc, seq
	}
	r.mu.Unlock()
	return enc, nil
}

// roomEpoch returns the epoch of a room, "" if there is none.
func (r *Router) roomEpoch(ctx context.Context, key, name string) (string, error) {
	r.mu.Lock()
	var epoch string
	if lr := r.local[roomSubject(key, name)]; lr != nil {
		epoch = lr.epoch
	}
	r.mu.Unlock()
	if epoch != "" {
		return epoch, nil
	}
	v, _, err := r.getRoom(ctx, key, name)
	if v == nil || err != nil {
		return "", err
	}
	return v.Epoch, nil
}

// readLog reads a room's log up to stream sequence last (0: the last there
// is), and returns it with the sequence of its last event. It keeps the
// newest events with at most RoomLogBytes of text, and purges the older
// ones from the stream.
func (r *Router) readLog(ctx context.Context, key, name, epoch string, last uint64) ([]protocol.LogEntry, uint64, error) {
	s, err := r.logStream(ctx, key)
	if err != nil {
		return nil, 0, err
	}
	subj := logSubject(key, name, epoch)
	if last == 0 {
		m, err := s.GetLastMsgForSubject(ctx, subj)
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
			return nil, 0, nil
		case err != nil:
			return nil, 0, fmt.Errorf("cluster: reading the log of room %q: %w", name, err)
		}
		last = m.Sequence
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subj}})
	if err != nil {
		return nil, 0, fmt.Errorf("cluster: reading the log of room %q: %w", name, err)
	}
	var (
		out  []protocol.LogEntry
		seqs []uint64
	)
	for done := false; !done; {
		batch, err := cons.FetchNoWait(protocol.MaxRoomLog)
		if err != nil {
			return nil, 0, fmt.Errorf("cluster: reading the log of room %q: %w", name, err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			md, err := m.Metadata()
			if err != nil {
				continue
			}
			if md.Sequence.Stream > last {
				done = true
				continue
			}
			var e logValue
			if json.Unmarshal(m.Data(), &e) == nil {
				le := protocol.LogEntry{MessageType: e.Type, Src: e.Src, Timestamp: e.At, Size: e.Size}
				if len(e.Data) > 0 {
					le.Data = json.RawMessage(e.Data)
				}
				out = append(out, le)
				seqs = append(seqs, md.Sequence.Stream)
			}
			if md.Sequence.Stream >= last {
				done = true
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return nil, 0, fmt.Errorf("cluster: reading the log of room %q: %w", name, err)
		}
		if !done && n == 0 && !backoff(ctx, 1) {
			return nil, 0, fmt.Errorf("cluster: reading the log of room %q: %w", name, ctx.Err())
		}
	}
	// The newest events within the room's bytes of text.
	from, text := len(out), 0
	for from > 0 && text+len(out[from-1].Data) <= r.cfg.RoomLogBytes {
		from--
		text += len(out[from].Data)
	}
	from = max(from, len(out)-protocol.MaxRoomLog)
	if from > 0 {
		r.purgeLog(ctx, key, name, subj, seqs[from])
	}
	return out[from:], last, nil
}
