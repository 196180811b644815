//go:build !js

package sfu

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/sdk"
)

// joinBot opens a Peer named id on srv with api and has it join room.
// It returns once the room is open; a refusal (the room is full, say) is
// returned as the error the server sent.
func joinBot(ctx context.Context, srv *server, api *webrtc.API, id, room string, opts *sdk.RoomOptions) (*sdk.Peer, error) {
	peer, err := sdk.NewPeer(sdk.PeerOptions{Key: srv.key, URL: srv.url, ID: id, API: api, DisableTURN: true, NoReconnect: true})
	if err != nil {
		return nil, fmt.Errorf("failed to create peer %s: %w", id, err)
	}
	errs := make(chan error, 1)
	peer.OnError(func(err error) {
		select {
		case errs <- err:
		default:
		}
	})
	ok := false
	defer func() {
		if !ok {
			peer.Destroy()
		}
	}()
	if _, err := peer.WaitOpen(ctx); err != nil {
		return nil, fmt.Errorf("peer %s failed to open: %w", id, err)
	}
	r, err := peer.JoinRoom(room, opts)
	if err != nil {
		return nil, fmt.Errorf("peer %s failed to join room %s: %w", id, room, err)
	}
	opened := make(chan struct{})
	r.OnOpen(func() { close(opened) })
	select {
	case <-opened:
	case err := <-errs:
		return nil, fmt.Errorf("peer %s was refused room %s: %w", id, room, err)
	case <-ctx.Done():
		return nil, fmt.Errorf("peer %s joining room %s: %w", id, room, ctx.Err())
	}
	ok = true
	return peer, nil
}

// subscriber is a receive-only member: it reads every forwarded packet,
// keeps which counters arrived from each publisher and, while the bench
// records, how long each took.
type subscriber struct {
	name      string
	epoch     time.Time
	recording *atomic.Bool // shared: a measurement window is open
	room      *sdk.SFURoom // skywasm's; nil for LiveKit's bots
	leave     func()

	mu      sync.Mutex
	got     [][]uint64 // per publisher, a bit per counter received
	latency []float64  // ms, of packets received while recording
	late    int64      // packets that came after lateLimit
	reading map[*webrtc.TrackRemote]bool
	stopped bool
	heard   []bool        // per publisher: a packet of it arrived
	missing int           // publishers not heard from yet
	first   chan struct{} // closed when missing reaches 0

	wg sync.WaitGroup // the reading goroutines; they end with the PeerConnection
}

// startSubscriber connects a subscriber and joins room; its media arrives
// later (waitMedia).
func startSubscriber(ctx context.Context, srv *server, api *webrtc.API, room string, index, publishers int, epoch time.Time, recording *atomic.Bool) (*subscriber, error) {
	s := newSubscriber(fmt.Sprintf("sub%d", index), publishers, epoch, recording)
	// Only video is published; a subscriber that asked for audio too
	// would get nothing more.
	peer, err := joinBot(ctx, srv, api, s.name, room, &sdk.RoomOptions{Mode: protocol.SFU, NoAudioReceive: true})
	if err != nil {
		return nil, err
	}
	s.leave = peer.Destroy
	rm, ok := peer.Rooms()[room].(*sdk.SFURoom)
	if !ok {
		peer.Destroy()
		return nil, errors.New("the room is not an SFU room")
	}
	s.room = rm
	rm.OnStream(s.stream)
	// Streams that came before OnStream was set.
	for _, st := range rm.RemoteStreams() {
		s.stream(st)
	}
	return s, nil
}

// newSubscriber returns a subscriber's counting, not yet connected.
func newSubscriber(name string, publishers int, epoch time.Time, recording *atomic.Bool) *subscriber {
	return &subscriber{
		name: name, epoch: epoch, recording: recording,
		got:     make([][]uint64, publishers),
		heard:   make([]bool, publishers),
		missing: publishers,
		reading: map[*webrtc.TrackRemote]bool{},
		first:   make(chan struct{}),
	}
}

// stream starts reading a remote stream's tracks, once each, and the RTCP
// of their receivers: pion's interceptors act on the sender reports only
// when someone reads them, as a browser always does.
func (s *subscriber) stream(st *sdk.MediaStream) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return // stop is waiting for the readers: start no more
	}
	for _, tr := range st.RemoteTracks() {
		if tr.Kind() != webrtc.RTPCodecTypeVideo || s.reading[tr] {
			continue
		}
		s.reading[tr] = true
		s.wg.Go(func() { s.readRTP(tr) })
		if pc := s.room.PeerConnection(); pc != nil {
			for _, r := range pc.GetReceivers() {
				if r.Track() == tr {
					s.wg.Go(func() { readRTCP(r) })
				}
			}
		}
	}
}

// readRTP reads a track until its PeerConnection closes.
func (s *subscriber) readRTP(tr *webrtc.TrackRemote) {
	buf := make([]byte, 1500)
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		pub, counter, sent, ok := readRecord(buf[:n])
		if !ok {
			continue
		}
		s.note(pub, counter, time.Since(s.epoch)-sent)
	}
}

// lateLimit is when a packet stops counting as received: ITU-T G.114's
// bound on one-way delay for interactive use. An SFU that falls behind
// queues packets in pion's buffers rather than dropping them, and a
// packet seconds late is as lost to a video call as one never sent.
const lateLimit = 400 * time.Millisecond

// note records one packet: its counter, if it came within lateLimit, and
// its latency if the bench is recording. A retransmitted packet counts
// once.
func (s *subscriber) note(pub uint16, counter uint32, latency time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if int(pub) >= len(s.got) {
		return
	}
	if !s.heard[pub] {
		s.heard[pub] = true
		if s.missing--; s.missing == 0 {
			close(s.first)
		}
	}
	word, bit := int(counter/64), counter%64
	set := s.got[pub]
	if word >= len(set) {
		set = append(set, make([]uint64, word+1-len(set)+len(set)/2)...)
		s.got[pub] = set
	}
	if set[word]&(1<<bit) != 0 {
		return
	}
	if s.recording.Load() {
		s.latency = append(s.latency, float64(latency)/float64(time.Millisecond))
	}
	if latency > lateLimit {
		s.late++
		return
	}
	set[word] |= 1 << bit
}

// received counts the counters in [from, to) that arrived from pub.
func (s *subscriber) received(pub int, from, to uint64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	set := s.got[pub]
	var n int64
	for c := from; c < to; {
		word := int(c / 64)
		if word >= len(set) {
			break
		}
		w := set[word] >> (c % 64)
		span := min(64-c%64, to-c)
		if span < 64 {
			w &= 1<<span - 1
		}
		n += int64(bits.OnesCount64(w))
		c += span
	}
	return n
}

// takeLatency returns the latencies recorded and the count of late
// packets so far, and forgets them.
func (s *subscriber) takeLatency() ([]float64, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, late := s.latency, s.late
	s.latency, s.late = nil, 0
	return l, late
}

// shedGrace is how long a subscriber whose PeerConnection is up waits for
// video before a shedding server's word counts: the SFU sheds the newest
// joiners first, and a shed joiner gets no video until it resumes.
const shedGrace = 2 * time.Second

// errShed says that a subscriber joined but gets no video because the
// server sheds it: a join, whose missing packets count as loss.
var errShed = errors.New("joined while the SFU sheds video: no video yet")

// waitMedia waits until video from every publisher has arrived, or until
// shedding says (its /metrics) that the server withholds it from some
// subscribers while this one's PeerConnection has been up for shedGrace
// without video: then it returns errShed.
func (s *subscriber) waitMedia(ctx context.Context, shedding func(context.Context) bool) error {
	tick := time.NewTicker(shedGrace / 4)
	defer tick.Stop()
	var upSince time.Time
	for {
		select {
		case <-s.first:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("subscriber %s received no video: %w", s.name, ctx.Err())
		case now := <-tick.C:
			if s.room == nil || shedding == nil {
				continue // LiveKit's bot: no such word from the server
			}
			pc := s.room.PeerConnection()
			if pc == nil || pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
				upSince = time.Time{}
				continue
			}
			if upSince.IsZero() {
				upSince = now
			}
			if now.Sub(upSince) >= shedGrace && shedding(ctx) {
				return errShed
			}
		}
	}
}

// stop leaves and waits for the reading goroutines, which end with the
// PeerConnection.
func (s *subscriber) stop() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.leave()
	s.wg.Wait()
}

// readRTCP reads a receiver's RTCP until its PeerConnection closes.
func readRTCP(r *webrtc.RTPReceiver) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := r.Read(buf); err != nil {
			return
		}
	}
}
