//go:build !js

package synth

import "testing"

// rangeDecoder is the start of the range decoder of RFC 6716, section 4.1,
// transcribed to check silenceFrame: initialization (4.1.1), normalization
// (4.1.2.1) and ec_dec_bit_logp (4.1.3.2).
type rangeDecoder struct {
	buf      []byte
	rng, val uint32
	rem      uint32 // the last byte read
}

func (d *rangeDecoder) readByte() uint32 {
	if len(d.buf) == 0 {
		return 0 // bytes past the end read as zero
	}
	b := d.buf[0]
	d.buf = d.buf[1:]
	return uint32(b)
}

func newRangeDecoder(frame []byte) *rangeDecoder {
	d := &rangeDecoder{buf: frame}
	d.rem = d.readByte()
	d.rng = 128
	d.val = 127 - d.rem>>1
	d.normalize()
	return d
}

func (d *rangeDecoder) normalize() {
	for d.rng <= 1<<23 {
		d.rng <<= 8
		sym := d.rem
		d.rem = d.readByte()
		sym = (sym<<8 | d.rem) >> 1
		d.val = (d.val<<8 + (255 &^ sym)) & (1<<31 - 1)
	}
}

func (d *rangeDecoder) bitLogp(logp uint) bool {
	s := d.rng >> logp
	bit := d.val < s
	if bit {
		d.rng = s
	} else {
		d.val -= s
		d.rng -= s
	}
	d.normalize()
	return bit
}

func TestSilenceFrame(t *testing.T) {
	t.Parallel()
	toc := silenceFrame[0]
	if config := toc >> 3; config != 31 {
		t.Errorf("TOC config %d, want 31 (CELT-only, fullband, 20 ms)", config)
	}
	if stereo := toc >> 2 & 1; stereo != 0 {
		t.Errorf("TOC stereo flag set")
	}
	if code := toc & 3; code != 0 {
		t.Errorf("TOC frame count code %d, want 0 (one frame)", code)
	}
	frame := silenceFrame[1:]
	if len(frame) < 2 || len(frame) > 1275 {
		t.Fatalf("frame of %d bytes: a decoder takes 0 or 1 for a lost frame, and 1275 is the most", len(frame))
	}
	d := newRangeDecoder(frame)
	if d.rng != 1<<31 || d.val != 65535 {
		t.Errorf("range decoder starts at rng %#x val %d", d.rng, d.val)
	}
	if !d.bitLogp(15) {
		t.Error("the CELT silence flag decodes as 0")
	}
}
