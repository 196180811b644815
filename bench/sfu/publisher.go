//go:build !js

package sfu

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/internal/loopback"
	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/sdk"
)

// publisher is a bot that joins the room and sends the synthetic video.
type publisher struct {
	index uint16
	epoch time.Time // the bench's clock starts here
	// write sends one packet into the server; leave disconnects.
	write func(*rtp.Packet) error
	leave func()

	// keyframe is set by a picture-loss indication or FIR from the SFU.
	keyframe atomic.Bool
	// next is the counter of the next packet; packets and bytes count
	// what was sent (payload bytes).
	next, packets, bytes atomic.Uint64
	plis                 atomic.Int64

	wg sync.WaitGroup // the sending goroutine
}

// startPublisher connects a publishing bot to the server and joins room;
// it sends nothing until send.
func startPublisher(ctx context.Context, srv *server, room string, index int, epoch time.Time) (*publisher, error) {
	p := &publisher{index: uint16(index), epoch: epoch}
	api, err := loopback.APIWith([]interceptor.Factory{&keyframeRequests{p: p}})
	if err != nil {
		return nil, fmt.Errorf("failed to create the publisher's pion API: %w", err)
	}
	track, err := webrtc.NewTrackLocalStaticRTP(
		webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
		"video", fmt.Sprintf("pub%d", index))
	if err != nil {
		return nil, fmt.Errorf("failed to create the publisher's track: %w", err)
	}
	// A publisher receives nothing, as a webinar's presenter: every
	// forwarded packet then goes to a subscriber, which is what the
	// benchmark counts.
	opts := &sdk.RoomOptions{Mode: protocol.SFU, Stream: sdk.NewMediaStream(track), NoVideoReceive: true, NoAudioReceive: true}
	peer, err := joinBot(ctx, srv, api, fmt.Sprintf("pub%d", index), room, opts)
	if err != nil {
		return nil, fmt.Errorf("publisher %d: %w", index, err)
	}
	p.write, p.leave = track.WriteRTP, peer.Destroy
	return p, nil
}

// send sends video until ctx ends: frameRate frames a second, each frame's
// packets back to back as a browser without a pacer sends them.
func (p *publisher) send(ctx context.Context) {
	p.wg.Go(func() {
		sizer := newFrameSizer(uint64(p.index))
		tick := time.NewTicker(time.Second / frameRate)
		defer tick.Stop()
		var (
			sizes   []int
			payload = make([]byte, maxPayload)
			pkt     = rtp.Packet{Header: rtp.Header{Version: 2}}
			// Near the wrap, as a browser's random start may be: the
			// SFU and pion must carry the numbers across it.
			seq = uint16(0xffff - 300*int(p.index) - 200)
			ts  uint32
		)
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			size, key := sizer.next(p.keyframe.Swap(false))
			sizes = splitFrame(sizes[:0], size)
			for i, n := range sizes {
				buf := payload[:n]
				clear(buf)
				writeVP8Start(buf, i == 0, key)
				counter := p.next.Add(1) - 1
				putRecord(buf, p.index, uint32(counter), time.Since(p.epoch))
				pkt.SequenceNumber, pkt.Timestamp, pkt.Marker, pkt.Payload = seq, ts, i == len(sizes)-1, buf
				seq++
				// An error names a binding that is closing; the SFU's
				// binding is the only one and its loss ends the run.
				_ = p.write(&pkt)
				p.packets.Add(1)
				p.bytes.Add(uint64(n))
			}
			ts += 90000 / frameRate
		}
	})
}

// stop waits for the sending goroutine, whose context has ended, and
// leaves.
func (p *publisher) stop() {
	p.wg.Wait()
	p.leave()
}

// keyframeRequests watches the RTCP a publisher receives for requests of
// a keyframe, which the SFU sends when a subscriber arrives or loses the
// picture; the next frame is then a keyframe, as a browser's would be.
type keyframeRequests struct {
	interceptor.NoOp
	p *publisher
}

// NewInterceptor implements interceptor.Factory: one publisher has one
// PeerConnection, so one interceptor serves.
func (k *keyframeRequests) NewInterceptor(string) (interceptor.Interceptor, error) { return k, nil }

// BindRTCPReader implements interceptor.Interceptor.
func (k *keyframeRequests) BindRTCPReader(r interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, attrs, err := r.Read(b, a)
		if err != nil {
			return n, attrs, err
		}
		pkts, perr := rtcp.Unmarshal(b[:n])
		if perr != nil {
			return n, attrs, err
		}
		for _, pkt := range pkts {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				k.p.keyframe.Store(true)
				k.p.plis.Add(1)
			}
		}
		return n, attrs, err
	})
}
