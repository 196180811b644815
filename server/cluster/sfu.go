package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/routing"
)

// SFU is a routing.SFU that serves each sfu room from one node of the
// cluster: the room is pinned (bucket skywasm_sfu) to the node of the
// first member that asks for an offer in this life of the room, and every
// node sends its members' SFU_GET_OFFER, SFU_ANSWER and SFU_CANDIDATE on
// to that node's SFU (subject skywasm.sfu.<node>). The pinned SFU answers
// through the Router, which reaches the member on any node, and the
// member's media goes straight to the pinned node's UDP address.
//
// A pin to a node that is not live, or to an earlier life of the room
// (another epoch), is replaced by the next offer, so a room whose node
// died moves to the node of the next member that asks for an offer.
// Leaves go to every node (subject skywasm.sfu.leave), since a member may
// have asked for its offer through another node than the one it leaves
// through.
type SFU struct {
	r     *Router
	local routing.SFU

	ch   chan *nats.Msg // requests and leaves, in the order NATS delivered
	subs []*nats.Subscription
	stop chan struct{}
	wg   sync.WaitGroup

	mu    sync.Mutex
	cache map[roomRef]pinValue // pins this node read or wrote
}

type roomRef struct{ key, room string }

// pinValue is a room's pin in skywasm_sfu.
type pinValue struct {
	Node  string `json:"node"`
	Inc   string `json:"inc"`
	Epoch string `json:"epoch"` // the room's life it pins
}

// sfuRequest is an SFU call sent on to the pinned node, or a leave.
type sfuRequest struct {
	Op   string `json:"op"` // offer, answer, candidate or leave
	Inc  string `json:"inc,omitempty"`
	Key  string `json:"key"`
	Room string `json:"room"`
	Peer string `json:"peer"`

	Video     bool                         `json:"video,omitempty"`
	Audio     bool                         `json:"audio,omitempty"`
	Answer    *protocol.SessionDescription `json:"answer,omitempty"`
	Candidate json.RawMessage              `json:"candidate,omitempty"`
}

// sfuReply is the pinned node's answer: an empty type means success.
type sfuReply struct {
	Type    protocol.ErrorType `json:"type,omitempty"`
	Message string             `json:"message,omitempty"`
}

// maxSFURequest bounds a request's size: an SDP answer is the largest
// part, well under protocol.MaxFrameSize.
const maxSFURequest = 256 << 10

// errMoved is a pinned node's reply to a request for an incarnation it no
// longer is: the sender reads the pin again.
const errMoved protocol.ErrorType = "moved"

var _ routing.SFU = (*SFU)(nil)

// PinSFU puts local, this node's SFU, behind the cluster: what the
// returned SFU is asked goes to the SFU of the node each room is pinned
// to, and what other nodes send here goes to local. The Router closes it.
func (r *Router) PinSFU(local routing.SFU) (*SFU, error) {
	s := &SFU{
		r: r, local: local,
		ch:    make(chan *nats.Msg, r.cfg.QueueLength),
		stop:  make(chan struct{}),
		cache: make(map[roomRef]pinValue),
	}
	for _, subj := range []string{sfuSubject(r.cfg.Node), sfuLeave} {
		sub, err := r.nc.ChanSubscribe(subj, s.ch)
		if err != nil {
			s.unsubscribe()
			return nil, fmt.Errorf("cluster: subscribing to %s: %w", subj, err)
		}
		s.subs = append(s.subs, sub)
	}
	r.mu.Lock()
	if r.closed || r.sfu != nil {
		r.mu.Unlock()
		s.unsubscribe()
		return nil, errors.New("cluster: the router is closed or has its SFU")
	}
	r.sfu = s
	r.mu.Unlock()
	s.wg.Add(2)
	go s.serve()
	go s.sweepLoop()
	return s, nil
}

func (s *SFU) unsubscribe() {
	for _, sub := range s.subs {
		_ = sub.Unsubscribe()
	}
}

// close stops serving other nodes' requests.
func (s *SFU) close() {
	s.unsubscribe()
	close(s.stop)
	s.wg.Wait()
}

// Offer implements routing.SFU. Without a key-value quorum it fails: a
// room is never served by two SFUs.
func (s *SFU) Offer(ctx context.Context, m routing.Member, recv routing.Receive) error {
	ctx, cancel := s.r.bound(ctx)
	defer cancel()
	req := sfuRequest{Op: "offer", Key: m.Key, Room: m.Room, Peer: m.Peer, Video: recv.Video, Audio: recv.Audio}
	gone := ""
	for range 3 {
		pin, err := s.pin(ctx, m.Key, m.Room, gone)
		if err != nil {
			return err
		}
		if pin.Inc == s.r.Incarnation() {
			return s.local.Offer(ctx, m, recv)
		}
		if err := s.forward(ctx, pin, req); !errors.Is(err, errPinMoved) {
			return err
		}
		// Nobody serves that pin: its node died (before its lease
		// lapsed) or restarted. The pin is taken over.
		s.forget(m.Key, m.Room)
		gone = pin.Inc
	}
	return fmt.Errorf("cluster: the pin of room %q kept moving", m.Room)
}

// Answer implements routing.SFU.
func (s *SFU) Answer(ctx context.Context, m routing.Member, answer protocol.SessionDescription) error {
	return s.follow(ctx, m, sfuRequest{Op: "answer", Key: m.Key, Room: m.Room, Peer: m.Peer, Answer: &answer},
		func(ctx context.Context) error { return s.local.Answer(ctx, m, answer) })
}

// Candidate implements routing.SFU.
func (s *SFU) Candidate(ctx context.Context, m routing.Member, candidate json.RawMessage) error {
	return s.follow(ctx, m, sfuRequest{Op: "candidate", Key: m.Key, Room: m.Room, Peer: m.Peer, Candidate: candidate},
		func(ctx context.Context) error { return s.local.Candidate(ctx, m, candidate) })
}

// follow sends what follows an offer to the SFU that made it: the room's
// pinned node, never a new pin.
func (s *SFU) follow(ctx context.Context, m routing.Member, req sfuRequest, local func(context.Context) error) error {
	ctx, cancel := s.r.bound(ctx)
	defer cancel()
	pin, ok := s.cached(m.Key, m.Room)
	if !ok {
		var err error
		if pin, ok, err = s.readPin(ctx, m.Key, m.Room); err != nil {
			return err
		}
	}
	switch {
	case !ok:
		return protocol.Errorf(protocol.ErrRoom, "no SFU connection in room %q: send SFU_GET_OFFER first", m.Room)
	case pin.Inc == s.r.Incarnation():
		return local(ctx)
	}
	err := s.forward(ctx, pin, req)
	if errors.Is(err, errPinMoved) {
		s.forget(m.Key, m.Room)
		return protocol.Errorf(protocol.ErrRoom, "the SFU of room %q is gone: send SFU_GET_OFFER", m.Room)
	}
	return err
}

// Leave implements routing.SFU: this node's SFU lets the member go at
// once, and every other node's on hearing it. It publishes and returns.
func (s *SFU) Leave(m routing.Member) {
	s.local.Leave(m)
	data := mustJSON(sfuRequest{Op: "leave", Key: m.Key, Room: m.Room, Peer: m.Peer})
	msg := &nats.Msg{Subject: sfuLeave, Header: nats.Header{}, Data: data}
	msg.Header.Set(hdrOrigin, s.r.Incarnation())
	if err := s.r.nc.PublishMsg(msg); err != nil {
		// The member's PeerConnection with a remote SFU ends when its ICE
		// fails instead.
		s.r.log.Warn("sending an SFU leave failed", "room", m.Room, "peer", m.Peer, "err", err)
		return
	}
	s.r.m.SFUForwards["leave"].Inc()
}

// errPinMoved is the pinned node's answer that it is not the incarnation
// pinned any more.
var errPinMoved = errors.New("cluster: the pinned node restarted")

// forward sends req to the pinned node and waits, within ctx, for its
// reply; the pinned SFU's protocol errors come back as they were.
func (s *SFU) forward(ctx context.Context, pin pinValue, req sfuRequest) error {
	req.Inc = pin.Inc
	msg := &nats.Msg{Subject: sfuSubject(pin.Node), Header: nats.Header{}, Data: mustJSON(req)}
	msg.Header.Set(hdrOrigin, s.r.Incarnation())
	start := time.Now()
	reply, err := s.r.nc.RequestMsgWithContext(ctx, msg)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return errPinMoved // the node is gone; its lease has not lapsed yet
	case err != nil:
		return fmt.Errorf("cluster: asking the SFU of node %s: %w", pin.Node, err)
	}
	s.r.m.SFUForwards[req.Op].Inc()
	var rep sfuReply
	if err := json.Unmarshal(reply.Data, &rep); err != nil {
		return fmt.Errorf("cluster: the SFU of node %s answered: %w", pin.Node, err)
	}
	s.r.log.Debug("SFU request forwarded", "op", req.Op, "node", pin.Node, "took", time.Since(start))
	switch rep.Type {
	case "":
		return nil
	case errMoved:
		return errPinMoved
	}
	return protocol.Errorf(rep.Type, "%s", rep.Message)
}

// pin returns the node that serves the room, pinning it to this one if
// no live node serves this life of the room; the incarnation gone, if
// set, is known not to serve it. It reads the bucket every time, never
// the cache: a pin of the room's last life may be swept away at any
// moment, and an offer sent there would split the room.
func (s *SFU) pin(ctx context.Context, key, room, gone string) (pinValue, error) {
	v, _, err := s.r.getRoom(ctx, key, room)
	if err != nil {
		return pinValue{}, err
	}
	if v == nil {
		return pinValue{}, protocol.Errorf(protocol.ErrRoom, "room %q does not exist", room)
	}
	k := roomKey(key, room)
	for try := range 32 {
		if try > 0 && !backoff(ctx, try) {
			break
		}
		e, err := s.r.pins.Get(ctx, k)
		var rev uint64
		switch {
		case notFound(err):
		case err != nil:
			return pinValue{}, fmt.Errorf("cluster: reading the pin of room %q: %w", room, err)
		default:
			var p pinValue
			if json.Unmarshal(e.Value(), &p) == nil && p.Epoch == v.Epoch && p.Inc != gone && s.r.aliveNow(ctx, p.Node, p.Inc) {
				s.remember(key, room, p)
				return p, nil
			}
			rev = e.Revision()
		}
		own := pinValue{Node: s.r.cfg.Node, Inc: s.r.Incarnation(), Epoch: v.Epoch}
		if rev == 0 {
			_, err = s.r.pins.Create(ctx, k, mustJSON(own))
		} else {
			_, err = s.r.pins.Update(ctx, k, mustJSON(own), rev)
		}
		if conflict(err) {
			continue
		}
		if err != nil {
			return pinValue{}, fmt.Errorf("cluster: pinning room %q: %w", room, err)
		}
		s.remember(key, room, own)
		return own, nil
	}
	return pinValue{}, fmt.Errorf("cluster: pinning room %q: the pin kept changing", room)
}

// readPin returns the room's pin if a live node holds it.
func (s *SFU) readPin(ctx context.Context, key, room string) (pinValue, bool, error) {
	e, err := s.r.pins.Get(ctx, roomKey(key, room))
	switch {
	case notFound(err):
		return pinValue{}, false, nil
	case err != nil:
		return pinValue{}, false, fmt.Errorf("cluster: reading the pin of room %q: %w", room, err)
	}
	var p pinValue
	if json.Unmarshal(e.Value(), &p) != nil || !s.r.aliveNow(ctx, p.Node, p.Inc) {
		return pinValue{}, false, nil
	}
	s.remember(key, room, p)
	return p, true, nil
}

// cached returns the room's pin as last seen here, if its node lives.
func (s *SFU) cached(key, room string) (pinValue, bool) {
	s.mu.Lock()
	p, ok := s.cache[roomRef{key, room}]
	s.mu.Unlock()
	if ok && s.r.isLive(p.Inc) {
		return p, true
	}
	return pinValue{}, false
}

func (s *SFU) remember(key, room string, p pinValue) {
	s.mu.Lock()
	s.cache[roomRef{key, room}] = p
	s.mu.Unlock()
}

func (s *SFU) forget(key, room string) {
	s.mu.Lock()
	delete(s.cache, roomRef{key, room})
	s.mu.Unlock()
}

// serve answers other nodes' requests and leaves in the order they came.
// The local SFU returns promptly, so one goroutine keeps up; when the
// channel is full NATS drops the request and its sender times out.
func (s *SFU) serve() {
	defer s.wg.Done()
	for {
		select {
		case <-s.stop:
			return
		case m := <-s.ch:
			s.handle(m)
		}
	}
}

// handle serves one request or leave.
func (s *SFU) handle(m *nats.Msg) {
	req, err := decodeSFURequest(m.Data)
	if err != nil {
		s.r.log.Warn("a malformed SFU request", "subject", m.Subject, "err", err)
		s.answer(m, protocol.Errorf(protocol.ErrInvalidMessage, "%v", err))
		return
	}
	mem := routing.Member{Key: req.Key, Room: req.Room, Peer: req.Peer}
	if req.Op == "leave" {
		if m.Header.Get(hdrOrigin) != s.r.Incarnation() {
			s.local.Leave(mem)
		}
		return
	}
	if req.Inc != s.r.Incarnation() {
		s.answer(m, protocol.Errorf(errMoved, "node %s is incarnation %s now", s.r.cfg.Node, s.r.Incarnation()))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.r.cfg.Timeout)
	defer cancel()
	switch req.Op {
	case "offer":
		err = s.local.Offer(ctx, mem, routing.Receive{Video: req.Video, Audio: req.Audio})
	case "answer":
		err = s.local.Answer(ctx, mem, *req.Answer)
	case "candidate":
		err = s.local.Candidate(ctx, mem, req.Candidate)
	}
	s.answer(m, err)
}

// answer replies to a request with err, a *protocol.ProtocolError passed
// on as it is and anything else as server-error.
func (s *SFU) answer(m *nats.Msg, err error) {
	if m.Reply == "" {
		return
	}
	var rep sfuReply
	if err != nil {
		rep = sfuReply{Type: protocol.ErrServer, Message: "the SFU failed"}
		var perr *protocol.ProtocolError
		if errors.As(err, &perr) {
			rep = sfuReply{Type: perr.Type, Message: perr.Message}
		} else {
			s.r.log.Error("a forwarded SFU request failed", "err", err)
		}
	}
	_ = s.r.nc.Publish(m.Reply, mustJSON(rep))
}

// decodeSFURequest parses and checks a request from another node.
func decodeSFURequest(data []byte) (sfuRequest, error) {
	var req sfuRequest
	if len(data) > maxSFURequest {
		return req, fmt.Errorf("an SFU request of %d bytes, over %d", len(data), maxSFURequest)
	}
	if err := json.Unmarshal(data, &req); err != nil {
		return req, fmt.Errorf("an SFU request: %w", err)
	}
	switch {
	case req.Key == "" || req.Room == "" || req.Peer == "":
		return req, errors.New("an SFU request without its key, room or peer")
	case req.Op == "answer" && req.Answer == nil:
		return req, errors.New("an SFU answer without its answer")
	case req.Op == "candidate" && len(req.Candidate) == 0:
		return req, errors.New("an SFU candidate without its candidate")
	case req.Op != "offer" && req.Op != "answer" && req.Op != "candidate" && req.Op != "leave":
		return req, fmt.Errorf("an SFU request of unknown op %q", req.Op)
	}
	return req, nil
}

// sweepLoop takes pins away, once a lease: this node's pins of rooms that
// ended (or began a new life pinned elsewhere), and, on the cluster's
// janitor, the pins of nodes that are not live.
func (s *SFU) sweepLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.r.cfg.Lease)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.r.cfg.Timeout)
		s.sweep(ctx)
		cancel()
	}
}

// sweep is one round of sweepLoop.
func (s *SFU) sweep(ctx context.Context) {
	s.mu.Lock()
	for rr, p := range s.cache {
		if !s.r.isLive(p.Inc) {
			delete(s.cache, rr)
		}
	}
	s.mu.Unlock()
	entries, err := s.r.list(ctx, s.r.pins, ">")
	if err != nil {
		s.r.log.Warn("listing SFU pins failed", "err", err)
		return
	}
	janitor, inc := s.r.isJanitor(), s.r.Incarnation()
	for _, e := range entries {
		var p pinValue
		if json.Unmarshal(e.Value(), &p) != nil {
			continue
		}
		stale := janitor && p.Inc != inc && !s.r.aliveNow(ctx, p.Node, p.Inc)
		if p.Inc == inc {
			key, room, ok := splitRoomKey(e.Key())
			if !ok {
				continue
			}
			v, _, err := s.r.getRoom(ctx, key, room)
			if err != nil {
				continue
			}
			stale = v == nil || v.Epoch != p.Epoch
			if stale {
				s.forget(key, room)
			}
		}
		if stale {
			// A pin rewritten meanwhile has another revision and stays.
			_ = s.r.pins.Delete(ctx, e.Key(), jetstream.LastRevision(e.Revision()))
		}
	}
}

// splitRoomKey reverses roomKey.
func splitRoomKey(k string) (key, room string, ok bool) {
	for i := 0; i < len(k); i++ {
		if k[i] == '.' {
			key, ok1 := untoken(k[:i])
			room, ok2 := untoken(k[i+1:])
			return key, room, ok1 && ok2
		}
	}
	return "", "", false
}

// Pin returns the node name an sfu room is pinned to, or "" if none, for
// operators and tests.
func (s *SFU) Pin(ctx context.Context, key, room string) (string, error) {
	ctx, cancel := s.r.bound(ctx)
	defer cancel()
	p, ok, err := s.readPin(ctx, key, room)
	if err != nil || !ok {
		return "", err
	}
	return p.Node, nil
}

// aliveNow reports whether the node incarnation inc lives: as this node
// last saw the leases or, for one it has not seen yet, as the lease
// bucket has it now. A node that started since the last sweep is alive,
// and a pin it wrote must not be taken for a dead node's.
func (r *Router) aliveNow(ctx context.Context, node, inc string) bool {
	if r.isLive(inc) {
		return true
	}
	e, err := r.nodes.Get(ctx, token(node))
	if err != nil {
		return false
	}
	var n NodeInfo
	return json.Unmarshal(e.Value(), &n) == nil && n.Inc == inc
}
