//go:build !js

package sfu

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/metrics"
	"github.com/skywasm/skywasm/server/routing"
)

// sendTimeout bounds one delivery of an SFU_OFFER through the Router.
const sendTimeout = 5 * time.Second

// idLength is the length of the stream and track IDs the SFU makes up.
const idLength = 16

// SFU forwards the media of every sfu room of one server. It is safe for
// concurrent use.
type SFU struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics.SFU
	api     *webrtc.API
	mux     *ice.UDPMuxDefault
	out     *batchConn // the mux's socket: the send workers batch their writes
	addr    *net.UDPAddr

	// mu guards the rooms, their participants and tracks. It is never
	// taken while a participant's own lock is held.
	mu     sync.Mutex
	rooms  map[roomKey]*room
	closed bool
	joins  uint64 // participants created so far

	ingressDropped atomic.Uint64 // packets the ingress rings overwrote
	stop           chan struct{} // closed by Close: ends the sampler and the workers

	// workers send to the subscribers of tracks with many (fanout.go);
	// a new participant's queue goes to workers[nextWorker % len].
	workers    []*sendWorker
	nextWorker atomic.Uint32

	wg sync.WaitGroup // every participant's goroutine, the sampler and the workers
}

type roomKey struct{ key, room string }

// room is one sfu room as the SFU sees it: the members that asked for an
// offer and the tracks they publish.
type room struct {
	key          roomKey
	participants map[string]*participant
	tracks       []*track
}

var _ routing.SFU = (*SFU)(nil)

// New opens the SFU's UDP socket. The caller must Close the SFU.
func New(cfg Config) (*SFU, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := cfg.Metrics
	if m == nil {
		m = metrics.NewSFU(nil)
	}
	s := &SFU{cfg: cfg, log: logger, metrics: m, rooms: make(map[roomKey]*room), stop: make(chan struct{})}
	api, mux, out, err := listen(&cfg, logger, m, &s.ingressDropped)
	if err != nil {
		return nil, err
	}
	s.api, s.mux, s.out, s.addr = api, mux, out, out.LocalAddr().(*net.UDPAddr)
	s.wg.Go(s.sample)
	if cfg.ShedLoad {
		s.wg.Go(s.shedLoop)
	}
	for i := range runtime.GOMAXPROCS(0) {
		w := newSendWorker(i)
		s.workers = append(s.workers, w)
		s.wg.Go(func() { w.run(s.stop, s.out, m) })
	}
	logger.Info("SFU listening", "udp", s.addr.String(), "public", cfg.PublicAddrs)
	return s, nil
}

// Addr returns the address of the UDP socket.
func (s *SFU) Addr() *net.UDPAddr { return s.addr }

// Close closes every PeerConnection and the UDP socket, and returns once
// every goroutine of the SFU has ended. It is idempotent.
func (s *SFU) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closed = true
	close(s.stop)
	var all []*participant
	for _, r := range s.rooms {
		for _, p := range r.participants {
			all = append(all, p)
		}
		s.metrics.Tracks.Sub(float64(len(r.tracks)))
		s.metrics.Participants.Sub(float64(len(r.participants)))
		s.metrics.Rooms.Dec()
		for _, t := range r.tracks {
			t.closed.Store(true)
		}
		// Emptied, so that the participants' and tracks' own endings
		// find nothing left to count down.
		clear(r.participants)
		r.tracks = nil
	}
	clear(s.rooms)
	s.mu.Unlock()
	for _, p := range all {
		p.stop()
	}
	s.wg.Wait()
	if err := s.mux.Close(); err != nil {
		return err
	}
	return nil
}

// Offer implements routing.SFU.
func (s *SFU) Offer(_ context.Context, m routing.Member, recv routing.Receive) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return protocol.Errorf(protocol.ErrServer, "the SFU is shutting down")
	}
	rk := roomKey{m.Key, m.Room}
	r := s.rooms[rk]
	if r == nil {
		r = &room{key: rk, participants: make(map[string]*participant)}
		s.rooms[rk] = r
		s.metrics.Rooms.Inc()
	}
	p := r.participants[m.Peer]
	if p == nil {
		if err := s.admitLocked(r, m, recv); err != nil {
			if len(r.participants) == 0 {
				delete(s.rooms, rk)
				s.metrics.Rooms.Dec()
			}
			return err
		}
		// The participant's context is its own, not the caller's,
		// which ends with this call: it ends at the participant's
		// stop, which Close brings to every participant.
		ctx, cancel := context.WithCancel(context.Background())
		p = newParticipant(s, r, m.Peer, recv, cancel)
		s.joins++
		p.joined = s.joins
		r.participants[m.Peer] = p
		s.metrics.Participants.Inc()
		s.wg.Go(func() { p.run(ctx) })
		p.do(p.start)
		for _, t := range r.tracks {
			if p.wants(t) {
				p.do(func() { p.subscribe(t) })
			}
		}
	}
	if !p.do(p.requestOffer) {
		return errPending
	}
	return nil
}

// admitLocked refuses a new participant that would take the SFU beyond
// its configured limits; s.mu is held. The room's members are unaffected:
// the newcomer is refused before anything is sent to anyone.
func (s *SFU) admitLocked(r *room, m routing.Member, recv routing.Receive) error {
	c := s.cfg
	if c.MaxParticipants == 0 && c.MaxDownTracks == 0 {
		return nil
	}
	participants, downs := 0, 0
	for _, q := range s.rooms {
		participants += len(q.participants)
		for _, t := range q.tracks {
			for _, p := range q.participants {
				if p.wants(t) {
					downs++
				}
			}
		}
	}
	added := 0
	for _, t := range r.tracks {
		if (t.kind == webrtc.RTPCodecTypeVideo && recv.Video) || (t.kind == webrtc.RTPCodecTypeAudio && recv.Audio) {
			added++
		}
	}
	switch {
	case c.MaxParticipants > 0 && participants >= c.MaxParticipants:
		s.metrics.AdmissionsRefused.Inc()
		return protocol.Errorf(protocol.ErrSFULimited, "the SFU holds its most connections (%d)", c.MaxParticipants)
	case c.MaxDownTracks > 0 && downs+added > c.MaxDownTracks:
		s.metrics.AdmissionsRefused.Inc()
		return protocol.Errorf(protocol.ErrSFULimited, "the SFU sends its most tracks (%d); room %q has %d for %s",
			c.MaxDownTracks, m.Room, added, m.Peer)
	}
	return nil
}

// sample updates, every second, the figures that would cost too much to
// count per packet: the send queues' depths, the paused subscribers, the
// ingress drops.
func (s *SFU) sample() {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var ingress uint64
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		total, deepest, paused := 0, 0, 0
		s.mu.Lock()
		for _, r := range s.rooms {
			for _, p := range r.participants {
				d := p.q.depth()
				total += d
				deepest = max(deepest, d)
			}
			for _, t := range r.tracks {
				if downs := t.downs.Load(); downs != nil {
					for _, d := range *downs {
						if d.paused.Load() {
							paused++
						}
					}
				}
			}
		}
		s.mu.Unlock()
		s.metrics.QueueDepth.Set(float64(total))
		s.metrics.QueueDepthMax.Set(float64(deepest))
		s.metrics.CongestionPaused.Set(float64(paused))
		now := s.ingressDropped.Load()
		s.metrics.DropsIngress.Add(float64(now - ingress))
		ingress = now
	}
}

// Answer implements routing.SFU. The SDP is parsed here, so that a
// malformed answer is refused to its sender; applying it happens on the
// participant's goroutine.
func (s *SFU) Answer(_ context.Context, m routing.Member, answer protocol.SessionDescription) error {
	if answer.Type != "answer" {
		return protocol.Errorf(protocol.ErrInvalidMessage, `the answer's type must be "answer", not %q`, answer.Type)
	}
	var parsed sdp.SessionDescription
	if err := parsed.UnmarshalString(answer.SDP); err != nil {
		return protocol.Errorf(protocol.ErrInvalidMessage, "the answer's SDP does not parse: %v", err)
	}
	p, err := s.participant(m)
	if err != nil {
		return err
	}
	desc := webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer.SDP}
	if !p.do(func() { p.applyAnswer(desc) }) {
		return errPending
	}
	return nil
}

// Candidate implements routing.SFU. Like Answer, it parses here what
// it can, so that a malformed candidate is refused to its sender.
func (s *SFU) Candidate(_ context.Context, m routing.Member, candidate json.RawMessage) error {
	c, err := parseCandidate(candidate)
	if err != nil {
		return err
	}
	p, err := s.participant(m)
	if err != nil {
		return err
	}
	if !p.do(func() { p.addCandidate(c) }) {
		return errPending
	}
	return nil
}

// errPending refuses an SFU message while the participant's goroutine has
// maxPending requests queued.
var errPending = protocol.Errorf(protocol.ErrSFULimited, "too many SFU requests pending")

// parseCandidate reads an RTCIceCandidateInit. An empty candidate string
// is the end of the peer's candidates.
func parseCandidate(raw json.RawMessage) (webrtc.ICECandidateInit, error) {
	var c webrtc.ICECandidateInit
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, protocol.Errorf(protocol.ErrInvalidMessage, "the candidate is not an RTCIceCandidateInit: %v", err)
	}
	if v := strings.TrimPrefix(c.Candidate, "candidate:"); v != "" {
		if _, err := ice.UnmarshalCandidate(v); err != nil &&
			!errors.Is(err, ice.ErrUnknownCandidateTyp) && !errors.Is(err, ice.ErrDetermineNetworkType) {
			return c, protocol.Errorf(protocol.ErrInvalidMessage, "the candidate does not parse: %v", err)
		}
	}
	return c, nil
}

// participant returns m's participant, which the first Offer created.
func (s *SFU) participant(m routing.Member) (*participant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.lookupLocked(m); p != nil {
		return p, nil
	}
	return nil, protocol.Errorf(protocol.ErrRoom, "no SFU connection in room %q: send SFU_GET_OFFER first", m.Room)
}

// lookupLocked returns m's participant or nil; s.mu is held.
func (s *SFU) lookupLocked(m routing.Member) *participant {
	if r := s.rooms[roomKey{m.Key, m.Room}]; r != nil {
		return r.participants[m.Peer]
	}
	return nil
}

// Leave implements routing.SFU.
func (s *SFU) Leave(m routing.Member) {
	s.mu.Lock()
	p := s.lookupLocked(m)
	s.mu.Unlock()
	if p != nil {
		s.drop(p)
	}
}

// drop removes p from its room, withdraws its tracks from every other
// participant, and stops it. It is idempotent, and safe from pion's
// callbacks: it does not wait.
func (s *SFU) drop(p *participant) {
	s.mu.Lock()
	r := p.room
	if r.participants[p.peer] == p {
		delete(r.participants, p.peer)
		s.metrics.Participants.Dec()
		kept := r.tracks[:0]
		for _, t := range r.tracks {
			if t.pub == p {
				s.withdraw(r, t)
			} else {
				kept = append(kept, t)
			}
		}
		clear(r.tracks[len(kept):])
		r.tracks = kept
		if len(r.participants) == 0 && s.rooms[r.key] == r {
			delete(s.rooms, r.key)
			s.metrics.Rooms.Dec()
		}
	}
	s.mu.Unlock()
	p.stop()
}

// publish makes a track that p receives available to the rest of its
// room. It reports false if p has left.
func (s *SFU) publish(t *track) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, p := t.pub.room, t.pub
	if s.closed || r.participants[p.peer] != p {
		return false
	}
	r.tracks = append(r.tracks, t)
	s.metrics.Tracks.Inc()
	for _, q := range r.participants {
		if q.wants(t) {
			q.do(func() { q.subscribe(t) })
		}
	}
	return true
}

// unpublish withdraws a track whose publisher stopped sending it.
func (s *SFU) unpublish(t *track) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := t.pub.room
	for i, u := range r.tracks {
		if u == t {
			r.tracks = slices.Delete(r.tracks, i, i+1)
			s.withdraw(r, t)
			return
		}
	}
}

// withdraw marks t gone and has every subscriber remove it; s.mu is held.
func (s *SFU) withdraw(r *room, t *track) {
	t.closed.Store(true)
	s.metrics.Tracks.Dec()
	for _, q := range r.participants {
		if q != t.pub {
			q.do(func() { q.unsubscribe(t) })
		}
	}
}

// send delivers a frame to a peer through the Router, for at most
// sendTimeout.
func (s *SFU) send(ctx context.Context, key, peer string, frame []byte) error {
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	msg := routing.NewMessage(false)
	msg.Data = append(msg.Data, frame...)
	return s.cfg.Router.Send(ctx, key, peer, msg)
}
