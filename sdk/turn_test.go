//go:build !js

package sdk_test

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/internal/sdktest"
	"github.com/skywasm/skywasm/sdk"
)

// TestTURNRelay forces two native peers to relay everything through the
// server's TURN: a call carries media both ways and a data connection
// carries data, over relay candidate pairs only, and the server's relayed
// bytes rise.
func TestTURNRelay(t *testing.T) {
	t.Parallel()
	srv := sdktest.Start(t, sdktest.Options{TURN: true})
	e := &env{t: t, srv: srv, url: srv.URL}
	relayOnly := sdk.PeerOptions{Config: webrtc.Configuration{ICETransportPolicy: webrtc.ICETransportPolicyRelay}}
	a, b := e.peer(relayOnly), e.peer(relayOnly)
	for _, p := range []*sdk.Peer{a, b} {
		servers := p.ICEServers()
		if len(servers) != 1 || len(servers[0].URLs) == 0 || !strings.HasPrefix(servers[0].URLs[0], "turn:127.0.0.1:") ||
			!strings.HasSuffix(servers[0].Username, ":"+sdktest.Key+":"+p.ID()) {
			t.Fatalf("peer %s: ICE servers %+v, want the TURN server with this peer's credential", p.ID(), servers)
		}
	}
	before := turnRelayed(t, srv.URL)

	near, far, nearGot, farGot := call(t, a, b, source(t, "from-a"), source(t, "from-b"), nil)
	v1, a1 := countRTP(recv(t, farGot, "the callee's stream event"))
	v2, a2 := countRTP(recv(t, nearGot, "the caller's stream event"))
	waitPackets(t, "the callee", v1, a1, 25)
	waitPackets(t, "the caller", v2, a2, 25)
	for who, mc := range map[string]*sdk.MediaConnection{"caller": near, "callee": far} {
		assertRelayed(t, who, mc.PeerConnection())
	}

	dc, farDC, received := connectPeers(t, a, b, nil)
	if err := dc.Send(context.Background(), "through the relay"); err != nil {
		t.Fatal(err)
	}
	if v := recv(t, received, "data through the relay"); v != "through the relay" {
		t.Errorf("received %v", v)
	}
	assertRelayed(t, "data caller", dc.PeerConnection())
	assertRelayed(t, "data callee", farDC.PeerConnection())

	after := turnRelayed(t, srv.URL)
	t.Logf("the TURN server relayed %.0f bytes", after-before)
	if after-before < 10_000 {
		t.Errorf("skywasm_turn_relayed_bytes_total rose by %.0f, want the call's media", after-before)
	}
}

// TestTURNDisabled: with DisableTURN a peer keeps only its own ICE servers.
func TestTURNDisabled(t *testing.T) {
	t.Parallel()
	srv := sdktest.Start(t, sdktest.Options{TURN: true})
	e := &env{t: t, srv: srv, url: srv.URL}
	stun := webrtc.ICEServer{URLs: []string{"stun:127.0.0.1:3478"}}
	p := e.peer(sdk.PeerOptions{DisableTURN: true, Config: webrtc.Configuration{ICEServers: []webrtc.ICEServer{stun}}})
	if got := p.ICEServers(); len(got) != 1 || got[0].URLs[0] != stun.URLs[0] {
		t.Errorf("ICE servers %+v, want only the app's own", got)
	}
	q := e.peer(sdk.PeerOptions{Config: webrtc.Configuration{ICEServers: []webrtc.ICEServer{stun}}})
	if got := q.ICEServers(); len(got) != 2 || got[0].URLs[0] != stun.URLs[0] {
		t.Errorf("ICE servers %+v, want the app's own, then TURN", got)
	}
}

// assertRelayed checks that pc's selected candidate pair is relayed on
// both ends, as iceTransportPolicy relay demands.
func assertRelayed(t *testing.T, who string, pc *webrtc.PeerConnection) {
	t.Helper()
	var pair *webrtc.ICECandidatePair
	if sctp := pc.SCTP(); sctp != nil && sctp.Transport() != nil {
		pair, _ = sctp.Transport().ICETransport().GetSelectedCandidatePair()
	}
	if pair == nil {
		for _, tr := range pc.GetTransceivers() {
			if s := tr.Sender(); s != nil && s.Transport() != nil {
				pair, _ = s.Transport().ICETransport().GetSelectedCandidatePair()
				break
			}
		}
	}
	if pair == nil {
		t.Fatalf("%s: no selected candidate pair", who)
	}
	if pair.Local.Typ != webrtc.ICECandidateTypeRelay {
		t.Errorf("%s: local candidate %s, want relay", who, pair.Local)
	}
}

// turnRelayed sums skywasm_turn_relayed_bytes_total over its labels.
func turnRelayed(t *testing.T, base string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "skywasm_turn_relayed_bytes_total") {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		sum += v
	}
	return sum
}
