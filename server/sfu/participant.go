//go:build !js

package sfu

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/routing"
)

// Limits of one participant's queues.
const (
	// maxPending is how many requests may wait for a participant's
	// goroutine; beyond it the peer gets sfu-limited.
	maxPending = 256
	// maxEarlyCandidates is how many remote candidates are kept while no
	// answer has been applied.
	maxEarlyCandidates = 64
	// gatherTimeout bounds waiting for the SFU's own candidates before an
	// offer goes out; with one UDP socket and host candidates gathering
	// takes microseconds.
	gatherTimeout = 5 * time.Second
)

// participant is one member of a room with its PeerConnection to the SFU.
// Everything done to the PeerConnection runs on its own goroutine, run,
// in the order requested, so that the callers never wait for pion.
type participant struct {
	s        *SFU
	room     *room
	peer     string
	recv     routing.Receive
	streamID string // of every track it publishes
	joined   uint64 // its place in the order participants came in (shed.go)
	log      *slog.Logger

	mu      sync.Mutex
	queue   []func()
	stopped bool
	wake    chan struct{}      // one token: the queue has work
	cancel  context.CancelFunc // ends run's context: called by stop

	// q is what the tracks it receives send it (fanout.go drains it).
	q *sendQueue

	// Owned by run.
	pc       *webrtc.PeerConnection
	downs    map[*track]*downTrack
	slots    []*outSlot // every m-line it sends on (outslot.go)
	offering bool       // an SFU_OFFER awaits its answer
	again    bool       // something changed while offering
	dirty    bool       // an offer is due
	early    []webrtc.ICECandidateInit
	spare    []func()
	wg       sync.WaitGroup // the goroutines this participant starts
}

// newParticipant returns a participant whose run must be given the
// context that cancel ends.
func newParticipant(s *SFU, r *room, peer string, recv routing.Receive, cancel context.CancelFunc) *participant {
	return &participant{
		s: s, room: r, peer: peer, recv: recv,
		streamID: protocol.RandomID(idLength),
		log:      s.log.With("key", r.key.key, "room", r.key.room, "peer", peer),
		wake:     make(chan struct{}, 1),
		cancel:   cancel,
		downs:    make(map[*track]*downTrack),
		q:        newSendQueue(sendQueueSize, s.workers[int(s.nextWorker.Add(1))%len(s.workers)]),
	}
}

// wants reports whether p receives t.
func (p *participant) wants(t *track) bool {
	if t.pub == p {
		return false
	}
	if t.kind == webrtc.RTPCodecTypeVideo {
		return p.recv.Video
	}
	return p.recv.Audio
}

// do queues f for run. It reports false if p has stopped or its queue is
// full. It never blocks.
func (p *participant) do(f func()) bool {
	p.mu.Lock()
	if p.stopped || len(p.queue) >= maxPending {
		p.mu.Unlock()
		return false
	}
	p.queue = append(p.queue, f)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return true
}

// goroutine starts f as one of p's goroutines, unless p has stopped.
func (p *participant) goroutine(f func()) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return false
	}
	p.wg.Go(f)
	return true
}

// stop ends p: run closes its PeerConnection and waits for its goroutines.
// It is idempotent and does not wait.
func (p *participant) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.stopped {
		p.stopped = true
		p.queue = nil
		p.cancel()
		p.q.close()
	}
}

// run carries out p's requests until stop, then tears p down. After each
// batch of requests it makes at most one offer, so that a burst of
// changes (a room of ten publishing at once) costs one negotiation. ctx
// ends at stop.
func (p *participant) run(ctx context.Context) {
	defer p.teardown()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		}
		p.mu.Lock()
		ops := p.queue
		p.queue = p.spare[:0]
		p.mu.Unlock()
		for i, op := range ops {
			if ctx.Err() != nil {
				return
			}
			op()
			ops[i] = nil
		}
		p.spare = ops
		if p.dirty {
			p.negotiate(ctx)
		}
	}
}

func (p *participant) teardown() {
	for t, d := range p.downs {
		t.removeDown(d)
	}
	if p.pc != nil {
		if err := p.pc.Close(); err != nil {
			p.log.Debug("closing the PeerConnection", "err", err)
		}
	}
	p.wg.Wait()
	p.log.Debug("SFU participant ended")
}

// start creates the PeerConnection with the two transceivers the peer
// publishes into.
func (p *participant) start() {
	pc, err := p.s.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		p.fail(fmt.Errorf("failed to create the PeerConnection: %w", err))
		return
	}
	p.pc = pc
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			p.fail(fmt.Errorf("failed to add the %s transceiver: %w", kind, err))
			return
		}
	}
	pc.OnTrack(p.onTrack)
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		p.log.Debug("SFU connection state", "state", st.String())
		switch st {
		case webrtc.PeerConnectionStateConnected:
			p.log.Info("SFU participant connected")
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			// The peer stays a room member; a later SFU_GET_OFFER
			// starts afresh.
			p.s.drop(p)
		}
	})
}

// fail drops p after an error it cannot go on from.
func (p *participant) fail(err error) {
	p.log.Warn("SFU participant dropped", "err", err)
	p.s.drop(p) // it waits for nothing, and run holds no lock
}

// requestOffer is the peer's SFU_GET_OFFER: an offer is due even if
// nothing changed, since the peer may have a new stream to attach.
func (p *participant) requestOffer() { p.dirty = true }

// negotiate sends an offer, or notes that one is due once the outstanding
// one is answered. It gives up when ctx ends.
func (p *participant) negotiate(ctx context.Context) {
	if p.pc == nil {
		return
	}
	p.dirty = false
	if p.offering {
		p.again = true
		return
	}
	for _, sl := range p.slots {
		sl.offered = sl.state == slotLeaving
	}
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		p.fail(fmt.Errorf("failed to create an offer: %w", err))
		return
	}
	gathered := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(offer); err != nil {
		p.fail(fmt.Errorf("failed to set the offer: %w", err))
		return
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return
	case <-time.After(gatherTimeout):
		p.log.Warn("ICE gathering incomplete; offering the candidates found so far")
	}
	msids := make(map[string]string, len(p.downs))
	for t := range p.downs {
		msids[t.streamID] = t.pub.peer
	}
	frame, err := protocol.Marshal(protocol.SFUOffer, protocol.SFUOfferPayload{
		RoomName: p.room.key.room,
		Offer:    protocol.SessionDescription{Type: "offer", SDP: p.pc.LocalDescription().SDP},
		Msids:    msids,
	})
	if err != nil {
		p.fail(fmt.Errorf("failed to encode SFU_OFFER: %w", err))
		return
	}
	p.offering = true
	if err := p.s.send(ctx, p.room.key.key, p.peer, frame); err != nil {
		// The peer is gone or elsewhere unreachable: its leave will
		// follow, or its next SFU_GET_OFFER will find an offer pending.
		p.log.Info("SFU_OFFER not delivered", "err", err)
	}
}

// applyAnswer sets the peer's answer to the outstanding offer.
func (p *participant) applyAnswer(desc webrtc.SessionDescription) {
	if p.pc == nil {
		return
	}
	if !p.offering {
		p.log.Info("SFU_ANSWER without an outstanding offer ignored")
		return
	}
	if err := p.pc.SetRemoteDescription(desc); err != nil {
		// The offer stands: the peer may send a better answer. A
		// renegotiation that was waiting waits on.
		p.log.Info("SFU_ANSWER refused", "err", err)
		return
	}
	p.offering = false
	for _, sl := range p.slots {
		if sl.offered {
			sl.offered, sl.state = false, slotFree
		}
	}
	for _, c := range p.early {
		p.addCandidate(c)
	}
	p.early = nil
	if p.again {
		p.again, p.dirty = false, true
	}
}

// addCandidate adds a remote candidate, or keeps it until the first
// answer is applied.
func (p *participant) addCandidate(c webrtc.ICECandidateInit) {
	if p.pc == nil {
		return
	}
	if p.pc.RemoteDescription() == nil {
		if len(p.early) < maxEarlyCandidates {
			p.early = append(p.early, c)
		}
		return
	}
	if err := p.pc.AddICECandidate(c); err != nil {
		p.log.Info("remote candidate refused", "err", err)
	}
}

// subscribe starts sending t to the peer, from the next offer: on a free
// m-line of its kind if there is one, else on a new one.
func (p *participant) subscribe(t *track) {
	if p.pc == nil || t.closed.Load() || p.downs[t] != nil {
		return
	}
	d := newDownTrack(t, p.q)
	sl, err := p.slotFor(d)
	if err != nil {
		p.log.Warn("failed to add a track", "track", t.id, "err", err)
		return
	}
	d.slot = sl
	p.downs[t] = d
	t.addDown(d)
	p.dirty = true
	sender := sl.sender
	p.goroutine(func() { p.readRTCP(sender, d) })
}

// slotFor puts d on a free m-line of its kind with a new sender, or on a
// new m-line.
func (p *participant) slotFor(d *downTrack) (*outSlot, error) {
	for _, sl := range p.slots {
		if sl.state != slotFree || sl.kind != d.t.kind {
			continue
		}
		sender, err := p.s.api.NewRTPSender(d, p.pc.SCTP().Transport())
		if err != nil {
			return nil, fmt.Errorf("failed to create a sender: %w", err)
		}
		// Back to sendrecv, with the new sender's SSRC.
		if err := sl.tr.SetSender(sender, d); err != nil {
			_ = sender.Stop()
			return nil, fmt.Errorf("failed to reuse an m-line: %w", err)
		}
		sl.sender, sl.state = sender, slotBusy
		return sl, nil
	}
	// A transceiver of its own, never AddTrack: AddTrack would reuse the
	// recvonly transceiver the peer publishes into. Sendrecv, though the
	// peer sends nothing on it, so that removing its track makes it
	// recvonly, not inactive (see outslot.go).
	tr, err := p.pc.AddTransceiverFromTrack(d, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv})
	if err != nil {
		return nil, err
	}
	sl := &outSlot{tr: tr, sender: tr.Sender(), kind: d.t.kind, state: slotBusy}
	p.slots = append(p.slots, sl)
	return sl, nil
}

// unsubscribe stops sending t to the peer; the next offer says so, and
// once it is answered the m-line can carry another track.
func (p *participant) unsubscribe(t *track) {
	d := p.downs[t]
	if d == nil {
		return
	}
	delete(p.downs, t)
	t.removeDown(d)
	sl := d.slot
	p.dirty = true
	// The sender goes and the m-line turns recvonly; its sender's
	// goroutine ends.
	if err := p.pc.RemoveTrack(sl.sender); err != nil && !errors.Is(err, webrtc.ErrConnectionClosed) {
		p.log.Info("failed to remove a track", "track", t.id, "err", err)
	}
	sl.sender, sl.state, sl.offered = nil, slotLeaving, false
}

// onTrack is pion's news of a track the peer publishes.
func (p *participant) onTrack(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	t := newTrack(p, remote)
	if !p.goroutine(t.forward) {
		return
	}
	p.log.Debug("track published", "track", t.id, "kind", t.kind.String(), "codec", remote.Codec().MimeType)
}
