//go:build !js

package sfu

import (
	"cmp"
	"slices"
	"time"

	"github.com/pion/webrtc/v4"
)

// Shedding load.
//
// Past what its cores can send, every subscriber's send queue fills, every
// down-track drops frames and asks for a keyframe, and the keyframes,
// larger than the frames they replace, fill the queues again: every
// subscriber gets a picture that freezes, a cliff. So when the queues of
// several subscribers overflow on two ticks running, the SFU stops sending
// video to a minority of them, the newest joiners first, a step per tick
// while the overflows go on; the others then get all of theirs. After a
// calm spell it resumes the shed subscribers a step at a time, the
// earliest joiners first, each from a keyframe, and sheds again if the
// queues overflow again. Audio is never shed.
const (
	shedTick = 250 * time.Millisecond
	// shedTrigger: a tick sheds when, on it and the tick before, at
	// least this many subscribers' queues overflowed, and this share of
	// those receiving video. One stalled subscriber overflows its own
	// queue alone, which is no overload of the SFU; a machine that
	// stalls the SFU's goroutines for a moment overflows many queues
	// once, which shedding would not help.
	shedTriggerCount = 3
	shedTriggerShare = 0.10
	// shedMinSubscribers: with fewer video subscribers no overflow is the
	// SFU past capacity (a few PeerConnections are nothing to a core),
	// only a stalled machine, and shedding one of a small room's members
	// would take a person's picture away for nothing.
	shedMinSubscribers = 20
	// shedStep is the share of video subscribers shed per tick of
	// overload, shedMax the most shed at once: a minority.
	shedStep = 0.10
	shedMax  = 0.40
	// resumeCalm is how long no queue must overflow before a step of
	// shed subscribers resumes; resumeStep is the share resumed.
	resumeCalm = 2 * time.Second
	resumeStep = 0.05
)

// shedder is the state of the SFU's load shedding, owned by shedLoop.
type shedder struct {
	calm time.Duration // since the last overflow
	hot  bool          // the last tick had overflows enough to shed
	// scratch
	all, shed []*participant
	resumed   []*track
}

// shedLoop decides, every shedTick, whom to shed or resume, until s.stop.
func (s *SFU) shedLoop() {
	tick := time.NewTicker(shedTick)
	defer tick.Stop()
	var sh shedder
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		for _, t := range sh.step(s) {
			t.keyframeForNewSubscriber()
		}
	}
}

// step takes one tick's decision. It returns the tracks whose subscribers
// resumed, to ask for keyframes once s.mu is released.
func (sh *shedder) step(s *SFU) []*track {
	sh.all, sh.shed, sh.resumed = sh.all[:0], sh.shed[:0], sh.resumed[:0]
	s.mu.Lock()
	defer s.mu.Unlock()
	overflowed := 0
	for _, r := range s.rooms {
		for _, p := range r.participants {
			if !p.recv.Video {
				continue
			}
			if p.q.overflowed.Swap(false) {
				overflowed++
			}
			if p.q.shed.Load() {
				sh.shed = append(sh.shed, p)
			} else {
				sh.all = append(sh.all, p)
			}
		}
	}
	n := len(sh.all) + len(sh.shed)
	if n == 0 {
		return nil
	}
	hot := n >= shedMinSubscribers && overflowed >= shedTriggerCount && float64(overflowed) >= shedTriggerShare*float64(n)
	hot, sh.hot = hot && sh.hot, hot
	if hot {
		sh.calm = 0
		// The newest joiners first.
		slices.SortFunc(sh.all, func(a, b *participant) int { return cmp.Compare(b.joined, a.joined) })
		k := min(max(1, int(shedStep*float64(n))), int(shedMax*float64(n))-len(sh.shed), len(sh.all))
		for _, p := range sh.all[:max(k, 0)] {
			p.q.shed.Store(true)
		}
		if k > 0 {
			s.metrics.Shed.Set(float64(len(sh.shed) + k))
		}
		return nil
	}
	if overflowed > 0 {
		sh.calm = 0
		return nil
	}
	if sh.calm += shedTick; sh.calm < resumeCalm || len(sh.shed) == 0 {
		return nil
	}
	sh.calm = 0
	// The earliest joiners first: the newest were shed first.
	slices.SortFunc(sh.shed, func(a, b *participant) int { return cmp.Compare(a.joined, b.joined) })
	k := min(max(1, int(resumeStep*float64(n))), len(sh.shed))
	for _, p := range sh.shed[:k] {
		p.q.shed.Store(false)
		for _, t := range p.room.tracks {
			if t.kind == webrtc.RTPCodecTypeVideo && p.wants(t) && !slices.Contains(sh.resumed, t) {
				sh.resumed = append(sh.resumed, t)
			}
		}
	}
	s.metrics.Shed.Set(float64(len(sh.shed) - k))
	return sh.resumed
}
