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

// BenchmarkForward measures one packet through the forwarding loop: the
// shared buffer and every subscriber's queue, while the subscribers' send
// loops write (SRTP, the UDP socket) on their own goroutines. The read
// from the publisher is pion's and not included.
func BenchmarkForward(b *testing.B) {
	for _, n := range []int{0, 1, 3} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			_, t := forwardingRoom(b, n)
			buf := packet(b)
			seq := uint16(2000)
			var f sfu.Forwarder
			b.ReportAllocs()
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				seq++
				binary.BigEndian.PutUint16(buf[2:], seq)
				binary.BigEndian.PutUint32(buf[4:], uint32(seq)*3000)
				sfu.ForwardOne(t, &f, buf)
			}
		})
	}
}
