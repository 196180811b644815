//go:build !js

package sfu

import "strings"

// isKeyframe reports whether payload, the first RTP packet of a frame,
// begins a keyframe. For codecs it cannot read it says true, so that a
// down-track waiting for a keyframe resumes at the next frame.
func isKeyframe(mime string, payload []byte) bool {
	switch {
	case strings.EqualFold(mime, "video/VP8"):
		return vp8Keyframe(payload)
	case strings.EqualFold(mime, "video/H264"):
		return h264Keyframe(payload)
	case strings.EqualFold(mime, "video/VP9"):
		// The payload descriptor's P bit: inter-picture predicted.
		return len(payload) > 0 && payload[0]&0x40 == 0
	}
	return true
}

// vp8Keyframe reads the VP8 payload descriptor (RFC 7741 §4.2) and the
// frame tag's P bit (RFC 6386 §9.1).
func vp8Keyframe(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	x, s, pid := p[0]&0x80 != 0, p[0]&0x10 != 0, p[0]&0x0f
	if !s || pid != 0 {
		return false
	}
	i := 1
	if x {
		if len(p) < 2 {
			return false
		}
		ext := p[1]
		i = 2
		if ext&0x80 != 0 { // I: picture ID
			if len(p) <= i {
				return false
			}
			if p[i]&0x80 != 0 {
				i += 2
			} else {
				i++
			}
		}
		if ext&0x40 != 0 { // L: TL0PICIDX
			i++
		}
		if ext&0x30 != 0 { // T or K
			i++
		}
	}
	return len(p) > i && p[i]&0x01 == 0
}

// h264Keyframe looks for an IDR slice or an SPS in a single NAL unit, a
// STAP-A or the start of an FU-A (RFC 6184).
func h264Keyframe(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	switch typ := p[0] & 0x1f; typ {
	case 5, 7:
		return true
	case 24: // STAP-A
		for i := 1; i+2 < len(p); {
			size := int(p[i])<<8 | int(p[i+1])
			if t := p[i+2] & 0x1f; t == 5 || t == 7 {
				return true
			}
			i += 2 + size
		}
	case 28: // FU-A
		return len(p) > 1 && p[1]&0x80 != 0 && (p[1]&0x1f == 5 || p[1]&0x1f == 7)
	}
	return false
}
