// Package vp8enc is a small VP8 encoder (RFC 6386) in pure Go, for bots and
// tests that must send real, decodable video without cgo or external tools.
//
// Every frame it makes is a key frame: each macroblock is predicted from its
// already coded neighbours with one of the whole-block modes (DC, vertical,
// horizontal or TrueMotion, for luma and chroma alike), and the residual is
// transformed (DCT, plus the Walsh-Hadamard transform of the luma DC
// values), quantized with one fixed quantizer and token-coded with the
// default probabilities. There is no rate control, no loop filter, no
// per-subblock prediction and no inter prediction: it is meant for synthetic
// test patterns, where a frame of a few kilobytes is fine, and must not be
// used where bandwidth matters.
//
// The tests decode its frames with golang.org/x/image/vp8 and require the
// result to equal the encoder's own reconstruction bit for bit.
package vp8enc
