//go:build !js

package synth

import "time"

// silenceFrame is the Opus packet sent every 20 ms: one CELT-only frame that
// decodes to 20 ms of digital silence. Why it is valid, by RFC 6716:
//
//   - 0xf8 is the TOC byte (section 3.1): config 31 in its top five bits,
//     which Table 2 lists as CELT-only, fullband, 20 ms; s = 0, mono; and
//     c = 0, one frame in the packet (section 3.2.2), whose length is the
//     rest of the packet, 2 bytes. That meets requirements R1 and R2 of
//     section 3.4, and 2 bytes are more than the 1 that a decoder would
//     take for a lost frame.
//   - 0xff 0xfe is that frame. From them the range decoder (section 4.1.1)
//     starts with rng = 2^31 and val = 65535 once normalized. The first
//     symbol of a CELT frame is the silence flag (section 4.3, Table 56),
//     decoded with ec_dec_bit_logp(15) (section 4.1.3.2), which returns 1
//     because val < rng >> 15 = 65536. With the flag set, the reference
//     decoder counts the rest of the frame as read and synthesizes every
//     band with zero energy: the output is silence.
//
// It is the 3-byte packet that applications built on libopus commonly send
// as a "silence frame". TestSilenceFrame checks the derivation above against
// a transcription of the RFC's range decoder.
var silenceFrame = [3]byte{0xf8, 0xff, 0xfe}

// silenceFrameDuration is the duration of silenceFrame's one frame.
const silenceFrameDuration = 20 * time.Millisecond
