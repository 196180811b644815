//go:build !js

// Package synth generates synthetic media for native bots, load tests and
// tests: a VP8 video track showing a moving test pattern and an Opus audio
// track, both as pion/webrtc tracks ready for PeerConnection.AddTrack.
//
// The video is real, decodable VP8 made in-process by a small pure-Go
// encoder, so a receiver or an SFU sees genuine frames: colour bars over a
// grey ramp, a bouncing block, a frame counter and an optional label. Every
// frame is a key frame with a fixed quantizer, so a 320x240 stream at 30
// frames per second takes about 0.5 Mbit/s and a millisecond or two of CPU
// per frame; that suits tests and bots, and it must not stand in for a real
// camera where bandwidth matters.
//
// The audio is silence: every 20 ms the same valid 3-byte Opus packet, a TOC
// byte for one CELT-only, fullband, 20 ms, mono frame, and a frame whose
// silence flag is set (RFC 6716, sections 3.1 and 4.3), which decoders turn
// into digital silence. It exercises the audio path end to end without an
// Opus encoder.
//
// The package needs pion/webrtc's native build and does not exist for
// GOOS=js, where a browser's own media should be used instead.
package synth
