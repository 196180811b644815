//go:build js && wasm

package sdk_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall/js"
	"testing"
	"time"

	"github.com/skywasm/skywasm/sdk"
)

// TestInBrowserPageThrows makes the page's JavaScript throw inside each
// kind of call the SDK makes on the page's objects — a stream whose getter
// throws, a revoked object, an RTCPeerConnection the page closed — and
// checks that each becomes an error of type webrtc on the connection, not
// a panic, and that the Peer keeps working after all of them.
func TestInBrowserPageThrows(t *testing.T) {
	native := os.Getenv("SKYWASM_NATIVE_ID")
	if native == "" {
		t.Fatal("SKYWASM_NATIVE_ID is unset: run these tests through the native TestBrowser")
	}
	p := openPeer(t, sdk.PeerOptions{})
	cam := camera(t)
	wrap := js.Global().Call("eval", `(function (s, how) {
		if (how === "getter") {
			return new Proxy(s, {get(t, p) {
				if (p === "getTracks") throw new Error("getTracks getter threw");
				const v = Reflect.get(t, p);
				return typeof v === "function" ? v.bind(t) : v;
			}});
		}
		const r = Proxy.revocable(s, {});
		r.revoke();
		return r.proxy;
	})`)

	tests := []struct {
		name string
		call func(t *testing.T, errs chan error) *sdk.MediaConnection
		want string // in the error's message
	}{
		{"getter throws on a stream", func(t *testing.T, errs chan error) *sdk.MediaConnection {
			mc, err := p.Call(native, sdk.StreamFromJS(wrap.Invoke(cam.JSValue(), "getter")), nil)
			if err != nil {
				t.Fatal(err)
			}
			mc.OnError(func(err error) { errs <- err })
			return mc
		}, "getTracks getter threw"},
		{"revoked stream", func(t *testing.T, errs chan error) *sdk.MediaConnection {
			mc, err := p.Call(native, sdk.StreamFromJS(wrap.Invoke(cam.JSValue(), "revoke")), nil)
			if err != nil {
				t.Fatal(err)
			}
			mc.OnError(func(err error) { errs <- err })
			return mc
		}, "TypeError"},
		{"closed RTCPeerConnection", func(t *testing.T, errs chan error) *sdk.MediaConnection {
			mc, err := p.Call(native, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			mc.OnError(func(err error) { errs <- err })
			streams := make(chan *sdk.MediaStream, 2)
			mc.OnStream(func(s *sdk.MediaStream) { streams <- s })
			recv(t, streams, "the native peer's stream")
			// Wait until connected: the track event fires while the
			// answer is being applied, and a step of a closed connection
			// never settles, which would hold the ones behind it.
			for deadline := time.Now().Add(wait); !mc.Open(); time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the call did not connect")
				}
			}
			mc.PeerConnection().JSValue().Call("close")
			// Adding a kind calls addTrack, which a closed connection refuses.
			if err := mc.ReplaceStream(cam); err != nil {
				t.Fatal(err)
			}
			return mc
		}, "InvalidStateError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := make(chan error, 4)
			// Each case sets the error handler before the failing step
			// can run: a handler is looked up when its event is delivered.
			mc := tt.call(t, errs)
			defer mc.Close(true)
			err := recv(t, errs, "the error event")
			var se *sdk.Error
			if !errors.As(err, &se) || se.Type != sdk.ErrorWebRTC || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one of type %s mentioning %q", err, sdk.ErrorWebRTC, tt.want)
			}
			t.Logf("%s: %v", tt.name, err)
		})
	}

	// The Peer still works.
	dc, err := p.Connect(native, nil)
	if err != nil {
		t.Fatal(err)
	}
	received := make(chan any, 2)
	opened := make(chan struct{}, 1)
	dc.OnData(func(v any) { received <- v })
	dc.OnOpen(func() { opened <- struct{}{} })
	recv(t, opened, "open with the native peer after the errors")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := dc.Send(ctx, "still here"); err != nil {
		t.Fatal(err)
	}
	recv(t, received, "the native echo")
	if !p.Open() {
		t.Error("the Peer is no longer open")
	}
}
