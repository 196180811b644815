//go:build !js

package sfu

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/routing"
)

// flush waits until m's participant has carried out everything queued so
// far, and the offer that may follow.
func (s *SFU) flush(tb testing.TB, m routing.Member) {
	p, err := s.participant(m)
	if err != nil {
		tb.Fatal(err)
	}
	for range 2 { // the second batch starts after the first's offer
		done := make(chan struct{})
		if !p.do(func() { close(done) }) {
			tb.Fatal("participant stopped")
		}
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			tb.Fatal("participant stuck")
		}
	}
}

// FuzzAnswer feeds any SDP to Answer, which either refuses it to the
// caller or has pion apply it to an outstanding offer; neither may panic.
func FuzzAnswer(f *testing.F) {
	f.Add(minimalAnswer)
	f.Add("garbage")
	f.Add("v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n")
	cfg := DefaultConfig()
	cfg.Router = routing.NewLocal() // offers reach nobody: only the answer matters
	s, err := New(cfg)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = s.Close() })
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, sdp string) {
		m := routing.Member{Key: "k", Room: "r", Peer: fmt.Sprint("p", n.Add(1))}
		if err := s.Offer(context.Background(), m, routing.Receive{Video: true, Audio: true}); err != nil {
			t.Fatal(err)
		}
		defer s.Leave(m)
		s.flush(t, m)
		err := s.Answer(context.Background(), m, protocol.SessionDescription{Type: "answer", SDP: sdp})
		if err != nil {
			if _, ok := err.(*protocol.ProtocolError); !ok {
				t.Fatalf("Answer: %v is not a ProtocolError", err)
			}
			return
		}
		s.flush(t, m)
	})
}

// FuzzCandidate feeds any JSON to the candidate parser, which must accept
// it or refuse it with a ProtocolError, never panic.
func FuzzCandidate(f *testing.F) {
	for _, c := range []string{
		`{"candidate":"candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host","sdpMid":"0","sdpMLineIndex":0}`,
		`{"candidate":"candidate:2 1 udp 1694498815 192.0.2.1 50001 typ srflx raddr 10.0.0.1 rport 50000","sdpMid":"0"}`,
		`{"candidate":"","sdpMid":"0"}`,
		`{"candidate":"candidate:1 1 tcp 1 ::1 9 typ host tcptype active"}`,
		`{"candidate":"candidate:x"}`,
		`[]`,
	} {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := parseCandidate(json.RawMessage(raw))
		if err != nil {
			if _, ok := err.(*protocol.ProtocolError); !ok {
				t.Fatalf("parseCandidate: %v is not a ProtocolError", err)
			}
			return
		}
		if _, err := json.Marshal(c); err != nil {
			t.Fatal(err)
		}
	})
}

// minimalAnswer is a browser-like answer: audio and video received and
// nothing sent, with ICE and DTLS parameters.
const minimalAnswer = "v=0\r\n" +
	"o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n" +
	"s=-\r\n" +
	"t=0 0\r\n" +
	"a=group:BUNDLE 0 1\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" +
	"c=IN IP4 0.0.0.0\r\n" +
	"a=ice-ufrag:abcd\r\n" +
	"a=ice-pwd:abcdefghijklmnopqrstuvwx\r\n" +
	"a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n" +
	"a=setup:active\r\n" +
	"a=mid:0\r\n" +
	"a=inactive\r\n" +
	"a=rtcp-mux\r\n" +
	"a=rtpmap:111 opus/48000/2\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 96\r\n" +
	"c=IN IP4 0.0.0.0\r\n" +
	"a=ice-ufrag:abcd\r\n" +
	"a=ice-pwd:abcdefghijklmnopqrstuvwx\r\n" +
	"a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n" +
	"a=setup:active\r\n" +
	"a=mid:1\r\n" +
	"a=inactive\r\n" +
	"a=rtcp-mux\r\n" +
	"a=rtpmap:96 VP8/90000\r\n"
