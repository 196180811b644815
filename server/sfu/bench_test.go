//go:build !js

package sfu_test

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/server/sfu"
)

// forwardingRoom is a publisher whose video reached the SFU, then
// stopped, and n subscribers bound to it: what the forwarding loop writes
// to, with nothing else writing.
func forwardingRoom(tb testing.TB, n int) (*env, *sfu.Track) {
	e := newEnv(tb, nil)
	pub := e.join("r", "pub", clientOpts{publish: true, recv: both, stopAfter: 50})
	var subs []*client
	for i := range n {
		subs = append(subs, e.join("r", fmt.Sprintf("sub%d", i), clientOpts{recv: both}))
	}
	for _, s := range subs {
		eventually(tb, 10*time.Second, s.m.Peer+" receives video", func() bool {
			for _, r := range s.live() {
				if r.remote.Kind() == webrtc.RTPCodecTypeVideo && r.packets() > 0 {
					return true
				}
			}
			return false
		})
	}
	time.Sleep(600 * time.Millisecond) // the publisher has stopped
	t := e.sfu.PublishedVideo(pub.m)
	if t == nil {
		tb.Fatal("no video track")
	}
	return e, t
}

func packet(tb testing.TB) []byte {
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: 1000, SSRC: 1}, Payload: make([]byte, videoPayload)}
	buf, err := p.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	return buf
}

// BenchmarkForward measures one packet through the forwarding path: the
// counters and TrackLocalStaticRTP's write to every bound subscriber
// (pion's interceptors, SRTP, the UDP socket). The read from the
// publisher is pion's and not included.
func BenchmarkForward(b *testing.B) {
	for _, n := range []int{0, 1, 3} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			_, t := forwardingRoom(b, n)
			buf := packet(b)
			seq := uint16(2000)
			b.ReportAllocs()
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				seq++
				binary.BigEndian.PutUint16(buf[2:], seq)
				sfu.ForwardOne(t, buf)
			}
		})
	}
}

// TestForwardAllocations reports what one forwarded packet allocates
// with one subscriber, counted over the whole process: pion's write path
// (its NACK responder copies each packet into its buffer: 2 allocations
// per packet and subscriber by a memory profile) and the test
// subscriber's own reads. The SFU's own part (the counters, the reused
// buffer) must allocate nothing.
func TestForwardAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	e, tr := forwardingRoom(t, 1)
	buf := packet(t)
	seq := uint16(2000)
	allocs := testing.AllocsPerRun(1000, func() {
		seq++
		binary.BigEndian.PutUint16(buf[2:], seq)
		sfu.ForwardOne(tr, buf)
	})
	t.Logf("%.1f allocations in the process per packet forwarded to one in-process subscriber", allocs)
	m := e.metrics
	if own := testing.AllocsPerRun(1000, func() {
		m.PacketsForwarded.Inc()
		m.BytesForwarded.Add(float64(len(buf)))
	}); own != 0 {
		t.Errorf("counting allocates %.1f per packet", own)
	}
}
