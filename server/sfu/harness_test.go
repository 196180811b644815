//go:build !js

package sfu_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/skywasm/skywasm/internal/sdktest"
	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/metrics"
	"github.com/skywasm/skywasm/server/routing"
	"github.com/skywasm/skywasm/server/sfu"
)

const testKey = "key"

// Media rates of a test publisher: video like a modest camera, audio at
// Opus's 20 ms.
const (
	videoEvery   = 10 * time.Millisecond
	audioEvery   = 20 * time.Millisecond
	videoPayload = 1000
	audioPayload = 60
)

// env is an SFU on 127.0.0.1 with an in-memory Router.
type env struct {
	t       testing.TB
	sfu     *sfu.SFU
	router  *routing.Local
	metrics *metrics.SFU
}

func newEnv(t testing.TB, adjust func(*sfu.Config)) *env {
	t.Helper()
	cfg := sfu.DefaultConfig()
	e := &env{t: t, router: routing.NewLocal(), metrics: metrics.NewSFU(prometheus.NewRegistry())}
	cfg.Router, cfg.Metrics = e.router, e.metrics
	if os.Getenv("SFU_TEST_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if adjust != nil {
		adjust(&cfg)
	}
	s, err := sfu.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.sfu = s
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

// client is a native pion peer in a room, signalling through the SFU's
// methods and receiving the SFU's messages from the Router.
type client struct {
	e    *env
	m    routing.Member
	recv routing.Receive
	pc   *webrtc.PeerConnection
	// publish: audio and video tracks writing numbered RTP.
	audio, video *webrtc.TrackLocalStaticRTP
	// manual clients leave answering to the test, through offers.
	manual bool
	offers chan protocol.SFUOfferPayload

	inbox    chan []byte
	quit     chan struct{}
	wg       sync.WaitGroup
	attached bool
	started  time.Time

	mu       sync.Mutex
	msids    map[string]string // the last offer's
	tracks   []*recvTrack
	received int // offers
	first    time.Duration

	plis      atomic.Int64 // received by this publisher's video sender
	videoSent atomic.Int64 // packets this publisher wrote
}

// recvTrack is what a client receives of one remote track.
type recvTrack struct {
	remote  *webrtc.TrackRemote
	stall   chan struct{} // while not nil, read waits for it to close
	mu      sync.Mutex
	lastSeq uint16 // the last packet's sequence number
	seen    []bool // by sequence number
	count   int
	lo, hi  int // unwrapped sequence numbers
	ended   bool
}

// loss is the share of packets missing between the first and the last
// received.
func (r *recvTrack) loss() (float64, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.count == 0 {
		return 1, 0
	}
	return 1 - float64(r.count)/float64(r.hi-r.lo+1), r.count
}

func (r *recvTrack) packets() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.count
}

func (r *recvTrack) isEnded() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ended
}

type clientOpts struct {
	publish bool
	// stopAfter, if not 0, stops the media after that many video packets.
	stopAfter int
	recv      routing.Receive
	manual    bool
}

func (e *env) join(room, peer string, o clientOpts) *client {
	t := e.t
	t.Helper()
	api, err := sdktest.LoopbackAPI()
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	c := &client{
		e: e, m: routing.Member{Key: testKey, Room: room, Peer: peer}, recv: o.recv, pc: pc,
		manual: o.manual, offers: make(chan protocol.SFUOfferPayload, 32),
		inbox: make(chan []byte, 64), quit: make(chan struct{}),
	}
	if o.publish {
		if c.audio, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "a-"+peer, "s-"+peer); err != nil {
			t.Fatal(err)
		}
		if c.video, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "v-"+peer, "s-"+peer); err != nil {
			t.Fatal(err)
		}
	}
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand == nil {
			return
		}
		raw, err := json.Marshal(cand.ToJSON())
		if err == nil {
			err = e.sfu.Candidate(context.Background(), c.m, raw)
		}
		if err != nil && !c.closing() {
			t.Errorf("%s: Candidate: %v", peer, err)
		}
	})
	pc.OnTrack(func(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		r := &recvTrack{remote: remote, seen: make([]bool, 1<<20)}
		c.mu.Lock()
		c.tracks = append(c.tracks, r)
		c.mu.Unlock()
		c.read(r)
	})
	if err := e.router.Claim(context.Background(), routing.Claim{Key: testKey, ID: peer}, c); err != nil {
		t.Fatal(err)
	}
	c.wg.Add(1)
	go c.loop()
	t.Cleanup(c.close)
	if o.publish {
		c.wg.Add(1)
		go c.write(o.stopAfter)
	}
	c.started = time.Now()
	c.offer()
	return c
}

// Deliver implements routing.Inbox.
func (c *client) Deliver(msg *routing.Message) {
	frame := slices.Clone(msg.Data)
	msg.Release()
	select {
	case c.inbox <- frame:
	default:
		c.e.t.Errorf("%s: inbox full", c.m.Peer)
	}
}

// Evict implements routing.Inbox.
func (c *client) Evict(routing.Eviction) {}

// offer sends SFU_GET_OFFER.
func (c *client) offer() {
	if err := c.e.sfu.Offer(context.Background(), c.m, c.recv); err != nil {
		c.e.t.Errorf("%s: Offer: %v", c.m.Peer, err)
	}
}

func (c *client) loop() {
	defer c.wg.Done()
	for {
		select {
		case <-c.quit:
			return
		case frame := <-c.inbox:
			var env protocol.Envelope
			var o protocol.SFUOfferPayload
			if err := json.Unmarshal(frame, &env); err != nil || env.Type != protocol.SFUOffer {
				c.e.t.Errorf("%s: unexpected message %s", c.m.Peer, frame)
				continue
			}
			if err := json.Unmarshal(env.Payload, &o); err != nil {
				c.e.t.Errorf("%s: bad SFU_OFFER: %v", c.m.Peer, err)
				continue
			}
			c.mu.Lock()
			c.msids = o.Msids
			c.received++
			c.mu.Unlock()
			if c.manual {
				c.offers <- o
				continue
			}
			c.answer(o)
		}
	}
}

// answer answers an SFU_OFFER, attaching the client's tracks the first
// time as a browser client does.
func (c *client) answer(o protocol.SFUOfferPayload) {
	t := c.e.t
	if o.RoomName != c.m.Room || o.Offer.Type != "offer" {
		t.Errorf("%s: offer for %q of type %q", c.m.Peer, o.RoomName, o.Offer.Type)
	}
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: o.Offer.SDP}); err != nil {
		if c.closing() {
			return
		}
		t.Errorf("%s: SetRemoteDescription: %v", c.m.Peer, err)
		return
	}
	if !c.attached && c.audio != nil {
		c.attached = true
		for _, tr := range []webrtc.TrackLocal{c.audio, c.video} {
			sender, err := c.pc.AddTrack(tr)
			if err != nil {
				if c.closing() {
					return
				}
				t.Errorf("%s: AddTrack: %v", c.m.Peer, err)
				return
			}
			c.wg.Add(1)
			go c.readRTCP(sender, tr.Kind())
		}
	}
	ans, err := c.pc.CreateAnswer(nil)
	if err == nil {
		err = c.pc.SetLocalDescription(ans)
	}
	if err == nil {
		err = c.e.sfu.Answer(context.Background(), c.m, protocol.SessionDescription{Type: "answer", SDP: ans.SDP})
	}
	if err != nil && !c.closing() {
		t.Errorf("%s: answering: %v", c.m.Peer, err)
	}
}

// closing reports whether close has begun, after which errors from the
// closed PeerConnection are expected.
func (c *client) closing() bool {
	select {
	case <-c.quit:
		return true
	default:
		return false
	}
}

func (c *client) readRTCP(sender *webrtc.RTPSender, kind webrtc.RTPCodecType) {
	defer c.wg.Done()
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			if _, ok := p.(*rtcp.PictureLossIndication); ok && kind == webrtc.RTPCodecTypeVideo {
				c.plis.Add(1)
			}
		}
	}
}

// read counts a remote track's packets until it ends.
func (c *client) read(r *recvTrack) {
	var base, last int
	for n := 0; ; n++ {
		p, _, err := r.remote.ReadRTP()
		if err != nil {
			r.mu.Lock()
			r.ended = true
			r.mu.Unlock()
			return
		}
		c.mu.Lock()
		if c.first == 0 {
			c.first = time.Since(c.started)
		}
		c.mu.Unlock()
		// Unwrap the sequence number against the last one seen.
		seq := int(p.SequenceNumber)
		if n == 0 {
			base, last = seq, seq
		}
		d := int(int16(uint16(seq) - uint16(last)))
		last = last + d
		i := last - base + len(r.seen)/2
		r.mu.Lock()
		stall := r.stall
		r.lastSeq = p.SequenceNumber
		if i >= 0 && i < len(r.seen) && !r.seen[i] {
			r.seen[i] = true
			if r.count == 0 || i < r.lo {
				r.lo = i
			}
			if r.count == 0 || i > r.hi {
				r.hi = i
			}
			r.count++
		}
		r.mu.Unlock()
		if stall != nil {
			select {
			case <-stall:
			case <-c.quit:
			}
		}
	}
}

// write sends numbered RTP on both tracks until the client closes.
func (c *client) write(stopAfter int) {
	defer c.wg.Done()
	vt, at := time.NewTicker(videoEvery), time.NewTicker(audioEvery)
	defer vt.Stop()
	defer at.Stop()
	vp := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96}, Payload: make([]byte, videoPayload)}
	ap := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111}, Payload: make([]byte, audioPayload)}
	vp.Payload[0] = 0x10 // VP8 descriptor: start of partition
	for {
		select {
		case <-c.quit:
			return
		case <-vt.C:
			if stopAfter > 0 && int(vp.SequenceNumber) >= stopAfter {
				return
			}
			vp.SequenceNumber++
			vp.Timestamp += 900
			_ = c.video.WriteRTP(vp)
			c.videoSent.Add(1)
		case <-at.C:
			ap.SequenceNumber++
			ap.Timestamp += 960
			_ = c.audio.WriteRTP(ap)
		}
	}
}

// close ends the client: its goroutines, its PeerConnection, its ID. It
// does not Leave: tests do that when they mean it.
func (c *client) close() {
	select {
	case <-c.quit:
		return
	default:
	}
	close(c.quit)
	_ = c.pc.Close()
	c.wg.Wait()
	_ = c.e.router.Release(context.Background(), testKey, c.m.Peer, c)
}

// leave closes the client, then leaves: the other way round, it might
// answer an offer after its leave and be refused.
func (c *client) leave() {
	c.close()
	c.e.sfu.Leave(c.m)
}

// live returns the tracks being received that have not ended.
func (c *client) live() []*recvTrack {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*recvTrack
	for _, r := range c.tracks {
		if !r.isEnded() {
			out = append(out, r)
		}
	}
	return out
}

func (c *client) lastMsids() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.msids
}

func (c *client) offersReceived() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.received
}

// eventually fails the test unless cond holds within d.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func gauge(g prometheus.Collector) float64 { return testutil.ToFloat64(g) }
