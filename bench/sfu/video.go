//go:build !js

package sfu

import (
	"encoding/binary"
	"math/rand/v2"
	"time"
)

// The synthetic video: what a browser sends for a 360p–480p webcam at
// about 1 Mbit/s. The payloads are not decodable VP8 — subscribers never
// decode, and the SFU forwards payloads untouched — but the packets have a
// camera's sizes, rate and burstiness, and begin as VP8 packets do.
const (
	videoBitrate = 1_000_000 // bits per second of payload
	frameRate    = 30
	// keyframeEvery is the periodic keyframe interval; a keyframe is
	// keyframeFactor times a delta frame, and also goes out after a
	// picture-loss indication.
	keyframeEvery  = 2 * time.Second
	keyframeFactor = 5
	// deltaJitter is how far a delta frame's size strays from the mean,
	// as a fraction: motion makes some frames bigger than others.
	deltaJitter = 0.25
	// maxPayload keeps each RTP packet, with its 12-byte header and the
	// transport-wide sequence number extension pion adds, within the
	// 1,200 bytes libwebrtc aims for.
	maxPayload = 1180
)

// meanDeltaFrame is the mean payload of a delta frame: keyframeEvery holds
// one keyframe and the rest delta frames, and together they make
// videoBitrate.
var meanDeltaFrame = func() int {
	frames := int(keyframeEvery.Seconds() * frameRate)
	bytesPerPeriod := videoBitrate / 8 * keyframeEvery.Seconds()
	return int(bytesPerPeriod / float64(frames-1+keyframeFactor))
}()

// The record every packet carries in its last recordSize bytes, read from
// the end so that a receiver needs no knowledge of the header extensions
// pion and the SFU add: a magic number, the publisher's index, the
// packet's counter (per publisher, from 0) and its send time in
// nanoseconds on the bench's monotonic clock.
const (
	recordSize  = 16
	recordMagic = 0x5357 // "SW"
)

// putRecord writes the record at the end of payload.
func putRecord(payload []byte, publisher uint16, counter uint32, sent time.Duration) {
	r := payload[len(payload)-recordSize:]
	binary.BigEndian.PutUint16(r[0:], recordMagic)
	binary.BigEndian.PutUint16(r[2:], publisher)
	binary.BigEndian.PutUint32(r[4:], counter)
	binary.BigEndian.PutUint64(r[8:], uint64(sent))
}

// readRecord finds the record in a whole RTP packet as a TrackRemote
// returns it. ok is false for a packet too short or without the magic
// number, such as pion's padding-only probes.
func readRecord(packet []byte) (publisher uint16, counter uint32, sent time.Duration, ok bool) {
	const rtpHeader = 12
	end := len(packet)
	if end < rtpHeader+recordSize {
		return 0, 0, 0, false
	}
	if packet[0]&0x20 != 0 { // padding: its length is the last byte
		end -= int(packet[end-1])
	}
	if end-recordSize < rtpHeader {
		return 0, 0, 0, false
	}
	r := packet[end-recordSize : end]
	if binary.BigEndian.Uint16(r[0:]) != recordMagic {
		return 0, 0, 0, false
	}
	return binary.BigEndian.Uint16(r[2:]), binary.BigEndian.Uint32(r[4:]), time.Duration(binary.BigEndian.Uint64(r[8:])), true
}

// frameSizer picks each frame's payload size: a keyframe when one is due
// or asked for, else a delta frame of jittered size.
type frameSizer struct {
	rng       *rand.Rand
	frame     int // frames since the last keyframe
	keyPeriod int // frames between periodic keyframes
}

func newFrameSizer(seed uint64) *frameSizer {
	return &frameSizer{
		rng:       rand.New(rand.NewPCG(seed, 0x736b7977)),
		keyPeriod: int(keyframeEvery.Seconds() * frameRate),
	}
}

// next returns the next frame's size and whether it is a keyframe; asked
// says a receiver has asked for one. The first frame is a keyframe.
func (f *frameSizer) next(asked bool) (size int, key bool) {
	key = asked || f.frame%f.keyPeriod == 0
	if key {
		f.frame = 1
		return keyframeFactor * meanDeltaFrame, true
	}
	f.frame++
	jitter := 1 + deltaJitter*(2*f.rng.Float64()-1)
	return int(float64(meanDeltaFrame) * jitter), false
}

// splitFrame returns the payload sizes of a frame of size bytes split, as
// libwebrtc splits it, into the fewest packets within maxPayload and of
// nearly equal sizes, appended to sizes.
func splitFrame(sizes []int, size int) []int {
	n := (size + maxPayload - 1) / maxPayload
	for i := range n {
		// The first size%n packets carry one byte more.
		s := size / n
		if i < size%n {
			s++
		}
		sizes = append(sizes, s)
	}
	return sizes
}

// writeVP8Start writes what a VP8 packet begins with: the payload
// descriptor (RFC 7741) with S set on a frame's first packet, and on that
// packet the frame tag, which says whether it is a keyframe, and for a
// keyframe the start code and a 640x360 size (RFC 6386, section 9.1).
// It returns how many bytes it wrote.
func writeVP8Start(payload []byte, first, key bool) int {
	if !first {
		payload[0] = 0x00
		return 1
	}
	payload[0] = 0x10 // S: start of a partition
	// Frame tag: bit 0 is 0 for a keyframe; version 0; show_frame; a
	// first-partition size of 256 bytes.
	tag := uint32(1<<4 | 256<<5)
	if !key {
		tag |= 1
	}
	payload[1], payload[2], payload[3] = byte(tag), byte(tag>>8), byte(tag>>16)
	if !key {
		return 4
	}
	copy(payload[4:], []byte{0x9d, 0x01, 0x2a})
	binary.LittleEndian.PutUint16(payload[7:], 640)
	binary.LittleEndian.PutUint16(payload[9:], 360)
	return 11
}
