//go:build !js

package sdk_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skywasm/skywasm/internal/browsertest"
	"github.com/skywasm/skywasm/internal/sdktest"
	"github.com/skywasm/skywasm/sdk"
)

// TestBrowser runs browser_js_test.go in headless Chromium against a
// server started here, with a native peer for the browser to talk to: it
// echoes data and answers calls with synthetic media, counting the RTP the
// browser's camera sends it. A second native peer, behind a UDP blackhole,
// calls and connects to a browser peer when told and then cuts the path,
// for TestInBrowserICERestart.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	e := newEnv(t)
	native := e.peer(sdk.PeerOptions{ID: "native-bot"})
	cut := newCutPeer(t, e)
	defer cut.wait()
	native.OnConnection(func(dc *sdk.DataConnection) {
		dc.OnData(func(v any) {
			if cut.command(dc, v) {
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			if err := dc.Send(ctx, map[string]any{"echo": v}); err != nil {
				t.Errorf("native echo: %v", err)
			}
		})
	})
	var video, audio atomic.Pointer[atomic.Int64]
	bot := source(t, "native-bot")
	native.OnCall(func(mc *sdk.MediaConnection) {
		mc.OnStream(func(s *sdk.MediaStream) {
			v, a := countRTP(s)
			video.Store(v)
			audio.Store(a)
		})
		if err := mc.Answer(bot, nil); err != nil {
			t.Errorf("native answer: %v", err)
		}
	})

	browsertest.Run(t, "github.com/skywasm/skywasm/sdk", []string{
		"SKYWASM_URL=" + e.url, "SKYWASM_KEY=" + sdktest.Key, "SKYWASM_NATIVE_ID=" + native.ID(),
	}, "-run", "^TestInBrowser", "-v")
	cut.wait()
	cut.check()

	v, a := int64(0), int64(0)
	if n := video.Load(); n != nil {
		v, a = n.Load(), audio.Load().Load()
	}
	t.Logf("the native peer received %d video and %d audio packets from the browser's camera", v, a)
	if v < 10 || a < 10 {
		t.Errorf("the browser's camera reached the native peer as %d video and %d audio packets", v, a)
	}
}

// cutPeer is the native side of TestInBrowserICERestart: a Peer whose ICE
// runs through a Blackhole, with ICE timeouts short enough that it notices
// a cut within a second. It is the offerer of both its connections with
// the browser, since the offerer drives ICE restarts and Chromium's own
// timeouts cannot be shortened. The browser steers it through its data
// connection with native-bot:
//
//	{"dial": id}  connect and call the browser peer id, reply when both are made
//	{"cut": "5s"} freeze the blackhole for that long, reply once the
//	              native side has reconnected after the thaw
//
// Replies are the echoes native-bot sends for everything else.
type cutPeer struct {
	t    *testing.T
	peer *sdk.Peer
	hole *sdktest.Blackhole
	bot  *sdk.MediaStream

	wg   sync.WaitGroup // the commands' goroutines
	mu   sync.Mutex
	recs []*recorder
}

func newCutPeer(t *testing.T, e *env) *cutPeer {
	t.Helper()
	api, hole := blackholedAPI(t, sdktest.ShortICETimeouts)
	return &cutPeer{t: t, peer: e.peer(sdk.PeerOptions{ID: "native-cut", API: api}), hole: hole, bot: source(t, "native-cut")}
}

// command runs v if it is one of cutPeer's commands, off the SDK's
// dispatcher since a cut lasts seconds, and replies on ctl when done.
func (c *cutPeer) command(ctl *sdk.DataConnection, v any) bool {
	m, _ := v.(map[string]any)
	var run func() error
	switch {
	case m["dial"] != nil:
		id, _ := m["dial"].(string)
		run = func() error { return c.dial(id) }
	case m["cut"] != nil:
		// A duration string: numbers decode as different Go types
		// under the binary and JSON serializations.
		s, _ := m["cut"].(string)
		d, err := time.ParseDuration(s)
		run = func() error {
			if err != nil {
				return err
			}
			return c.cut(d)
		}
	default:
		return false
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		if err := run(); err != nil {
			c.t.Errorf("native-cut %v: %v", v, err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := ctl.Send(ctx, map[string]any{"echo": v}); err != nil {
			c.t.Errorf("native-cut reply to %v: %v", v, err)
		}
	}()
	return true
}

// dial connects to and calls the browser peer id; the data connection
// echoes what it receives.
func (c *cutPeer) dial(id string) error {
	dc, err := c.peer.Connect(id, nil)
	if err != nil {
		return err
	}
	dc.OnData(func(v any) {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := dc.Send(ctx, map[string]any{"echo": v}); err != nil {
			c.t.Errorf("native-cut echo: %v", err)
		}
	})
	mc, err := c.peer.Call(id, c.bot, nil)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.recs = append(c.recs, record("native-cut data", dc), record("native-cut call", mc))
	c.mu.Unlock()
	return nil
}

// cut freezes the blackhole for d, thaws it, and waits until each
// connection reports reconnected.
func (c *cutPeer) cut(d time.Duration) error {
	c.mu.Lock()
	recs := slices.Clone(c.recs)
	c.mu.Unlock()
	c.hole.Freeze()
	time.Sleep(d)
	c.hole.Thaw()
	thawed := time.Now()
	for _, r := range recs {
		select {
		case <-r.back:
			c.t.Logf("%s: reconnected %v after the thaw", r.name, time.Since(thawed).Round(time.Millisecond))
		case <-r.closedCh:
			return fmt.Errorf("%s closed", r.name)
		case <-time.After(wait):
			return fmt.Errorf("%s did not reconnect", r.name)
		}
	}
	return nil
}

// wait waits for the commands' goroutines; it may be called again.
func (c *cutPeer) wait() { c.wg.Wait() }

// check asserts that the native side, too, went through the cut: each
// connection reported reconnecting and reconnected.
func (c *cutPeer) check() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.recs) == 0 {
		c.t.Error("the browser never told native-cut to dial")
	}
	for _, r := range c.recs {
		ing, ed, _ := r.counts()
		c.t.Logf("%s: %d reconnecting, %d reconnected", r.name, ing, ed)
		if ing < 1 || ed < 1 {
			c.t.Errorf("%s: %d reconnecting and %d reconnected events, want at least 1 of each", r.name, ing, ed)
		}
	}
}
