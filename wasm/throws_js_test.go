//go:build js && wasm

package main

import (
	"strings"
	"syscall/js"
	"testing"

	"github.com/hack-pad/safejs"
)

// TestBridgePageThrows makes the page's values throw inside the bridge's
// own conversions — getters on data to send and on options, a revoked
// object, a toJSON that throws, a shim hook that throws — and checks that
// each is an error (typed webrtc when it reaches the page) or a default,
// never a panic.
func TestBridgePageThrows(t *testing.T) {
	const getter = `({get a() { throw new Error("getter threw") }})`
	revoked := `(() => { const r = Proxy.revocable({}, {}); r.revoke(); return r.proxy })()`
	t.Run("data to send", func(t *testing.T) {
		for _, src := range []string{getter, revoked, `[1, ` + getter + `]`} {
			var c converter
			_, err := c.fromJS(eval(t, src), 0)
			if err == nil {
				t.Fatalf("fromJS(%s) succeeded", src)
			}
			e := safejs.Unsafe(jsError(err))
			if e.Get("type").String() != "webrtc" {
				t.Errorf("fromJS(%s): %v reaches the page as type %v", src, err, e.Get("type"))
			}
		}
	})
	t.Run("json", func(t *testing.T) {
		if _, err := stringify(eval(t, `({toJSON() { throw new Error("toJSON threw") }})`)); err == nil || !strings.Contains(err.Error(), "toJSON threw") {
			t.Errorf("stringify: %v", err)
		}
	})
	t.Run("options", func(t *testing.T) {
		for _, src := range []string{
			`({get key() { throw new Error("x") }, get debug() { throw new Error("x") }, get token() { throw new Error("x") }, get config() { throw new Error("x") }})`,
			revoked,
		} {
			// An unreadable option is an option not given: the key
			// is then missing, which NewPeer refuses as invalid-key.
			o, err := peerOptions(eval(t, `"id"`), eval(t, src), eval(t, `"http://localhost:8080"`))
			if o.Key != "" || o.Token != "" {
				t.Errorf("peerOptions(%s) read key %q, token %q", src, o.Key, o.Token)
			}
			t.Logf("peerOptions(%s): %v", src, err)
		}
	})
	t.Run("stream argument", func(t *testing.T) {
		if s := streamOf(eval(t, revoked)); s == nil || s.ID() != "" {
			t.Errorf("a revoked stream became %v", s)
		}
	})
	t.Run("shim hooks", func(t *testing.T) {
		thrower := eval(t, `(function () { throw new Error("hook threw") })`)
		b := newBridge(thrower, thrower)
		self := safejs.Safe(js.Global().Get("Object").New())
		b.emit(self, "anything") // logged, not a panic
		o := &mediaObject{}
		if err := b.make(o, "media", map[string]any{}); err == nil || !strings.Contains(err.Error(), "hook threw") {
			t.Errorf("make: %v", err)
		}
		if b.lookup(o.handle) != nil {
			t.Error("an object whose make threw stayed in the table")
		}
		settle(thrower, 1) // logged, not a panic
	})
}
