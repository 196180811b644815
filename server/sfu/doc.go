//go:build !js

// Package sfu is the media server of skywasm's sfu rooms: a selective
// forwarding unit on native pion/webrtc. Each member of a room that asks
// for an offer gets one PeerConnection with the SFU; what it publishes
// into that connection is forwarded, packet by packet and without
// decoding, to every other member that receives that kind of media.
//
// The SFU implements routing.SFU: the signaling plane passes it the
// peers' SFU_GET_OFFER, SFU_ANSWER and SFU_CANDIDATE, and the SFU answers
// with SFU_OFFER through the routing.Router, so it never needs to know
// where a peer's socket lives. The SFU always makes the offers, one at a
// time per participant, with its ICE candidates gathered into them (there
// is one UDP socket for every participant, so gathering is immediate and
// no SFU_CANDIDATE is ever sent by the server).
//
// What it must not do: decide who may join a room (signaling has checked
// that before any call), block the caller (every method queues its pion
// work on the participant's own goroutine and returns), transcode, or
// allocate per forwarded packet in its own code.
package sfu
