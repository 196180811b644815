//go:build !js

package sfu_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestChurnReusesMLines: a subscriber in a room where 200 publishers come
// and go, one after the other, gets offers no larger after the 200th than
// after the 10th, and receives the media of the one there now: the SFU
// reuses the m-lines of the tracks withdrawn, and the subscriber's pion
// takes each reuse for a new track.
func TestChurnReusesMLines(t *testing.T) {
	t.Parallel()
	const cycles, early = 200, 10
	const budget = 3 * time.Minute // about 25 s on 2 loaded cores
	start := time.Now()
	e := newEnv(t, nil)
	sub := e.join("r", "sub", clientOpts{recv: both})
	var earlySize, earlyLines int
	var earlySDP string
	for i := 1; i <= cycles; i++ {
		name := fmt.Sprintf("pub%d", i)
		pub := e.join("r", name, clientOpts{publish: true})
		eventually(t, 10*time.Second, "sub receives "+name, func() bool {
			live := sub.live()
			if len(live) != 2 {
				return false
			}
			msids := sub.lastMsids()
			for _, r := range live {
				if msids[r.remote.StreamID()] != name || r.packets() == 0 {
					return false
				}
			}
			return true
		})
		sdp := sub.pc.RemoteDescription().SDP
		size, lines := len(numbersOut(sdp)), strings.Count(sdp, "\nm=")
		if i > early && lines > earlyLines {
			t.Fatalf("publisher %d: the offer has %d m-lines, %d after publisher %d", i, lines, earlyLines, early)
		}
		if time.Since(start) > budget {
			t.Fatalf("%d cycles took %v", i, time.Since(start))
		}
		switch i {
		case early:
			earlySize, earlyLines = size, lines
			earlySDP = numbersOut(sdp)
		case cycles:
			t.Logf("offer after %d publishers: %d bytes (SSRCs and versions as #), %d m-lines; after %d: %d bytes, %d m-lines; %v",
				early, earlySize, earlyLines, cycles, size, lines, time.Since(start))
			// The same m-lines: only the random IDs and numbers
			// differ, and numbersOut makes those one length.
			if lines != earlyLines || size > earlySize {
				t.Errorf("the offer grew from %d bytes, %d m-lines to %d bytes, %d m-lines:\n%s\n\n%s", earlySize, earlyLines, size, lines, earlySDP, numbersOut(sdp))
			}
			// Its packets pass the subscriber's SRTP replay check:
			// they follow the numbers of the 199 before on the
			// same SSRCs.
			for _, r := range sub.live() {
				eventually(t, 5*time.Second, "sub receives 50 packets of "+r.remote.Kind().String(), func() bool { return r.packets() >= 50 })
				if loss, n := r.loss(); loss > 0.05 {
					t.Errorf("the last publisher's %s: %d packets, loss %.1f%%", r.remote.Kind(), n, 100*loss)
				}
			}
		}
		pub.leave()
		eventually(t, 10*time.Second, name+"'s tracks end at sub", func() bool { return len(sub.live()) == 0 })
		eventually(t, 10*time.Second, "sub's offers settle", func() bool { return e.sfu.Settled(sub.m) })
	}
}

// numbersOut replaces with # the numbers an SDP holds whose length varies
// from one offer to the next: the SSRCs and the session version.
func numbersOut(sdp string) string {
	sdp = ssrcGroup.ReplaceAllString(sdp, "$1# #")
	return ssrcOrVersion.ReplaceAllString(sdp, "$1#")
}

var (
	ssrcGroup     = regexp.MustCompile(`(?m)^(a=ssrc-group:FID )[0-9]+ [0-9]+`)
	ssrcOrVersion = regexp.MustCompile(`(?m)^(a=ssrc:|o=- [0-9]+ )[0-9]+`)
)
