//go:build !js

package sdk_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/skywasm/skywasm/internal/browsertest"
	"github.com/skywasm/skywasm/internal/sdktest"
	"github.com/skywasm/skywasm/sdk"
)

// TestBrowser runs browser_js_test.go in headless Chromium against a
// server started here, with a native peer for the browser to talk to: it
// echoes data and answers calls with synthetic media, counting the RTP the
// browser's camera sends it.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	e := newEnv(t)
	native := e.peer(sdk.PeerOptions{ID: "native-bot"})
	native.OnConnection(func(dc *sdk.DataConnection) {
		dc.OnData(func(v any) {
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

	v, a := int64(0), int64(0)
	if n := video.Load(); n != nil {
		v, a = n.Load(), audio.Load().Load()
	}
	t.Logf("the native peer received %d video and %d audio packets from the browser's camera", v, a)
	if v < 10 || a < 10 {
		t.Errorf("the browser's camera reached the native peer as %d video and %d audio packets", v, a)
	}
}
