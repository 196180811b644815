//go:build js && wasm

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"slices"
	"strings"
	"syscall/js"
	"testing"
	"time"

	"github.com/hack-pad/safejs"
	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/sdk"
)

// The tests play the page's part with syscall/js directly: a panic there
// fails the test, which is what a test wants. What they hand the bridge
// crosses as a safejs.Value.

// eval runs JavaScript source and returns its value.
func eval(t *testing.T, src string) safejs.Value {
	t.Helper()
	return safejs.Safe(js.Global().Call("eval", "("+src+")"))
}

// jsOf is a bridge result as the page receives it: safejs's FuncOf
// converts Go maps, slices and safejs.Values the same way.
func jsOf(t *testing.T, r any) js.Value {
	t.Helper()
	v, err := safejs.Safe(js.Global().Call("eval", "(x => x)")).Invoke(r)
	if err != nil {
		t.Fatal(err)
	}
	return safejs.Unsafe(v)
}

// TestFromJS checks what each JavaScript value becomes on its way to the
// wire: the forms a native Go peer decodes too.
func TestFromJS(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want any
	}{
		{"undefined", "undefined", nil},
		{"null", "null", nil},
		{"true", "true", true},
		{"integer", "42", int64(42)},
		{"negative integer", "-7", int64(-7)},
		{"largest safe integer", "Number.MAX_SAFE_INTEGER", int64(1<<53 - 1)},
		{"beyond safe integers", "2 ** 60", float64(1 << 60)},
		{"float", "1.5", 1.5},
		// syscall/js hands every zero over as the same value: -0 is lost.
		{"negative zero", "-0", int64(0)},
		{"string", `"héllo"`, "héllo"},
		{"BigInt", "2n ** 62n", int64(1 << 62)},
		{"big unsigned BigInt", "2n ** 64n - 1n", uint64(math.MaxUint64)},
		{"ArrayBuffer", "new Uint8Array([1, 2, 3]).buffer", []byte{1, 2, 3}},
		{"typed array view", "new Uint8Array([9, 1, 2, 3, 9]).subarray(1, 4)", []byte{1, 2, 3}},
		{"Float32Array", "new Float32Array([1])", []byte{0, 0, 0x80, 0x3f}},
		{"DataView", "new DataView(new Uint8Array([5, 6]).buffer)", []byte{5, 6}},
		{"Date", "new Date(1700000000123)", time.UnixMilli(1700000000123).UTC()},
		{"array", `[1, "a", null]`, []any{int64(1), "a", nil}},
		{"object", `({a: 1, b: {c: [true]}})`, map[string]any{"a": int64(1), "b": map[string]any{"c": []any{true}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c converter
			got, err := c.fromJS(eval(t, tt.src), 0)
			if err != nil {
				t.Fatalf("fromJS(%s): %v", tt.src, err)
			}
			if !equal(got, tt.want) {
				t.Errorf("fromJS(%s) = %#v, want %#v", tt.src, got, tt.want)
			}
		})
	}
}

// equal compares the dynamic values fromJS gives, -0 apart from 0.
func equal(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && x == y && math.Signbit(x) == math.Signbit(y)
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y)
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k := range x {
			if !equal(x[k], y[k]) {
				return false
			}
		}
		return true
	}
	return a == b
}

func TestFromJSRefuses(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"function", "() => 1", "cannot send a function"},
		{"symbol", `Symbol("s")`, "cannot send a symbol"},
		{"nested function", "({f: () => 1})", "cannot send a function"},
		{"cycle", "(() => { const o = {}; o.self = o; return o })()", "nested too deeply"},
		{"invalid Date", `new Date("nope")`, "invalid Date"},
		{"BigInt beyond 64 bits", "2n ** 64n", "64 bits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c converter
			_, err := c.fromJS(eval(t, tt.src), 0)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("fromJS(%s) error = %v, want one containing %q", tt.src, err, tt.want)
			}
		})
	}
}

// TestBlobs checks that Blobs and Files wait as references and become
// Files (a Blob is a File without a name) once read.
func TestBlobs(t *testing.T) {
	var c converter
	v, err := c.fromJS(eval(t, `[new Blob(["ab"], {type: "text/x"}), {f: new File(["cd"], "n.txt", {type: "text/plain"})}]`), 0)
	if err != nil || c.blobs != 2 {
		t.Fatalf("fromJS: blobs %d, error %v", c.blobs, err)
	}
	got, err := resolveBlobs(context.Background(), v, false)
	if err != nil {
		t.Fatal(err)
	}
	list := got.([]any)
	if f, ok := list[0].(sdk.File); !ok || f.Name != "" || f.Type != "text/x" || string(f.Data) != "ab" {
		t.Errorf("Blob became %#v", list[0])
	}
	if f, ok := list[1].(map[string]any)["f"].(sdk.File); !ok || f.Name != "n.txt" || f.Type != "text/plain" || string(f.Data) != "cd" {
		t.Errorf("File became %#v", list[1])
	}
	raw, _, err := rawValue(eval(t, `new Blob(["xyz"])`))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := resolveBlobs(context.Background(), raw, true); err != nil || string(b.([]byte)) != "xyz" {
		t.Errorf("a Blob for serialization none became %#v, %v", b, err)
	}
}

// TestToJS checks what a page receives for each value a peer can send.
func TestToJS(t *testing.T) {
	check := js.Global().Call("eval", `(function (v, expr) { return new Function("v", "return " + expr)(v) })`)
	tests := []struct {
		name string
		v    any
		expr string // true of the converted value v
	}{
		{"nil", nil, "v === null"},
		{"bool", true, "v === true"},
		{"int64", int64(-5), "v === -5"},
		{"large int64", int64(1 << 60), "v === 2n ** 60n"},
		{"large uint64", uint64(math.MaxUint64), "v === 2n ** 64n - 1n"},
		{"float", 0.25, "v === 0.25"},
		{"string", "ü", `v === "ü"`},
		{"bytes", []byte{1, 2}, "v instanceof ArrayBuffer && new Uint8Array(v).join() === '1,2'"},
		{"file", sdk.File{Name: "a.txt", Type: "text/plain", Data: []byte("hi")}, `v instanceof File && v.name === "a.txt" && v.type === "text/plain" && v.size === 2`},
		{"blob", sdk.File{Type: "image/png", Data: []byte{1}}, `v instanceof Blob && !(v instanceof File) && v.type === "image/png"`},
		{"time", time.UnixMilli(1234), "v instanceof Date && +v === 1234"},
		{"array", []any{int64(1), "x"}, `Array.isArray(v) && v[0] === 1 && v[1] === "x"`},
		{"map", map[string]any{"b": int64(2), "a": nil}, `Object.keys(v).join() === "a,b" && v.a === null && v.b === 2`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !check.Invoke(jsOf(t, toJS(tt.v)), tt.expr).Bool() {
				t.Errorf("toJS(%#v) fails %s", tt.v, tt.expr)
			}
		})
	}
}

func TestRTCConfiguration(t *testing.T) {
	cfg, err := rtcConfiguration(eval(t, `{iceServers: [{urls: "stun:a"}, {urls: ["turn:b", "turns:c"], username: "u", credential: "p"}], iceTransportPolicy: "relay"}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.ICEServers) != 2 || cfg.ICEServers[0].URLs[0] != "stun:a" || len(cfg.ICEServers[1].URLs) != 2 ||
		cfg.ICEServers[1].Username != "u" || cfg.ICEServers[1].Credential != "p" {
		t.Errorf("ICE servers = %+v", cfg.ICEServers)
	}
	if cfg.ICETransportPolicy != webrtc.ICETransportPolicyRelay {
		t.Errorf("iceTransportPolicy = %v, want relay", cfg.ICETransportPolicy)
	}
	if _, err := rtcConfiguration(eval(t, `{iceServers: [{urls: 5}]}`)); err == nil {
		t.Error("urls: 5 was accepted")
	}
	cfg, err = rtcConfiguration(eval(t, `{bundlePolicy: "max-bundle", rtcpMuxPolicy: "require", iceCandidatePoolSize: 2}`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BundlePolicy != webrtc.BundlePolicyMaxBundle || cfg.RTCPMuxPolicy != webrtc.RTCPMuxPolicyRequire ||
		cfg.ICETransportPolicy != webrtc.ICETransportPolicyAll || cfg.ICECandidatePoolSize != 2 {
		t.Errorf("policies = %v, %v, %v, pool %d; want max-bundle, require, all, 2",
			cfg.BundlePolicy, cfg.RTCPMuxPolicy, cfg.ICETransportPolicy, cfg.ICECandidatePoolSize)
	}
	if cfg, _ = rtcConfiguration(eval(t, `{bundlePolicy: "no-such"}`)); cfg.BundlePolicy != webrtc.BundlePolicyUnknown {
		t.Errorf("an unknown bundlePolicy is %v, want unknown", cfg.BundlePolicy)
	}
}

func TestJSError(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		typ, msg string
	}{
		{"typed", &sdk.Error{Type: protocol.ErrPeerUnavailable, Message: "no such peer"}, "peer-unavailable", "no such peer"},
		{"typed with cause", &sdk.Error{Type: protocol.ErrServer, Message: "request failed", Err: errors.New("boom")}, "server-error", "request failed: boom"},
		{"closed", sdk.ErrClosed, "disconnected", sdk.ErrClosed.Error()},
		{"untyped", errors.New("plain"), "", "plain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := safejs.Unsafe(jsError(tt.err))
			if !e.InstanceOf(safejs.Unsafe(jsErrorCtor)) || e.Get("message").String() != tt.msg {
				t.Errorf("message = %v, want %q", e.Get("message"), tt.msg)
			}
			if typ := e.Get("type"); tt.typ == "" && !typ.IsUndefined() || tt.typ != "" && typ.String() != tt.typ {
				t.Errorf("type = %v, want %q", typ, tt.typ)
			}
		})
	}
}

// TestCallRecovers checks that a panic inside a bridge call becomes an
// error event of type internal-error on the object, not a crash.
func TestCallRecovers(t *testing.T) {
	var got []js.Value
	emit := js.FuncOf(func(_ js.Value, args []js.Value) any {
		got = append(got, args...)
		return nil
	})
	defer emit.Release()
	b := newBridge(safejs.Safe(emit.Value), safejs.Undefined())
	methods["testPanic"] = method{kind: kindBridge, call: func(*bridge, object, safejs.Value, []safejs.Value) any { panic("on purpose") }}
	defer delete(methods, "testPanic")
	self := js.Global().Get("Object").New()
	if r := b.call(safejs.Undefined(), safeArgs("testPanic", 0, self)); !jsOf(t, r).IsUndefined() {
		t.Errorf("a panicking call returned %v", r)
	}
	if len(got) != 3 || got[1].String() != "error" || got[2].Get("type").String() != string(errInternal) ||
		!strings.Contains(got[2].Get("message").String(), "on purpose") {
		t.Fatalf("emitted %v", got)
	}
	if r := jsOf(t, b.call(safejs.Undefined(), safeArgs("noSuchMethod", 0, self))); !r.InstanceOf(safejs.Unsafe(jsErrorCtor)) {
		t.Errorf("an unknown method returned %v, not an Error to throw", r)
	}
}

// TestMetadataValue checks the JSON metadata of an offer as a page sees it.
func TestMetadataValue(t *testing.T) {
	if v := jsOf(t, metadataValue(nil)); !v.IsUndefined() {
		t.Errorf("no metadata = %v", v)
	}
	if v := jsOf(t, metadataValue(json.RawMessage(`{"a":[1]}`))); v.Get("a").Index(0).Int() != 1 {
		t.Errorf("metadata = %v", v)
	}
}

// TestRoomSizeAtLeast checks the lower bound by which room.send refuses a
// value over the limit before reading its Blobs: never above what the
// value encodes to.
func TestRoomSizeAtLeast(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want int
	}{
		{"number", "42", 0},
		{"string", `"héllo"`, 6},
		{"bytes", "new Uint8Array(10)", 10},
		{"Blob", `new Blob(["abc"])`, 3},
		{"nested", `{ab: ["xy", new Uint8Array(5), {c: new File(["1234"], "f")}]}`, 2 + 2 + 5 + 1 + 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c converter
			v, err := c.fromJS(eval(t, tt.src), 0)
			if err != nil {
				t.Fatal(err)
			}
			if got := sizeAtLeast(v); got != tt.want {
				t.Errorf("sizeAtLeast(%s) = %d, want %d", tt.src, got, tt.want)
			}
		})
	}
}

// TestRoomLogValue checks that a room's log reaches the page as SkyWay's
// did: an array of JSON strings, each {messageType, message, timestamp},
// and an empty log as an empty array.
func TestRoomLogValue(t *testing.T) {
	entries := []protocol.LogEntry{
		{MessageType: protocol.RoomUserJoin, Src: "alice", Timestamp: 1700000000000},
		{MessageType: protocol.RoomData, Src: "bob", Timestamp: 1700000000100, Data: json.RawMessage(`{"a":1}`), Size: 7},
	}
	got := js.Global().Get("JSON").Call("stringify", jsOf(t, logValue("r", entries))).String()
	want := `["{\"messageType\":\"ROOM_USER_JOIN\",\"message\":{\"roomName\":\"r\",\"src\":\"alice\"},\"timestamp\":1700000000000}",` +
		`"{\"messageType\":\"ROOM_DATA\",\"message\":{\"roomName\":\"r\",\"src\":\"bob\",\"data\":{\"a\":1},\"size\":7},\"timestamp\":1700000000100}"]`
	if got != want {
		t.Errorf("logValue = %s, want %s", got, want)
	}
	if got := js.Global().Get("JSON").Call("stringify", jsOf(t, logValue("r", nil))).String(); got != "[]" {
		t.Errorf("logValue(nil) = %s, want []", got)
	}
}

// TestMethodsMatchShim checks that Go's method tables and the shim's
// bridgeMethods literal (passed by TestBrowser, shim_test.go) hold the same
// names for each kind, in both directions.
func TestMethodsMatchShim(t *testing.T) {
	text := os.Getenv("SKYWASM_SHIM_METHODS")
	if text == "" {
		t.Fatal("SKYWASM_SHIM_METHODS is not set: run these tests through TestBrowser (go test ./wasm/)")
	}
	var shim map[kind][]string
	if err := json.Unmarshal([]byte(text), &shim); err != nil {
		t.Fatal(err)
	}
	goNames := methodNames()
	for _, k := range []kind{kindBridge, kindPeer, kindConnection, kindMedia, kindData, kindRoom} {
		t.Run(string(k), func(t *testing.T) {
			for _, n := range goNames[k] {
				if !slices.Contains(shim[k], n) {
					t.Errorf("Go has %s method %q; js/skywasm.js's bridgeMethods.%s does not", k, n, k)
				}
			}
			for _, n := range shim[k] {
				if !slices.Contains(goNames[k], n) {
					t.Errorf("js/skywasm.js's bridgeMethods.%s has %q; Go has no such %s method", k, n, k)
				}
			}
		})
	}
	for k := range shim {
		if _, ok := goNames[k]; !ok {
			t.Errorf("js/skywasm.js's bridgeMethods has kind %q, which Go does not", k)
		}
	}
}

// TestWrongKind checks that a method of one kind, called on a live object
// of another, returns an Error for the shim to throw and does not reach its
// handler; and that on a handle naming nothing it answers as on a closed
// object.
func TestWrongKind(t *testing.T) {
	b := newBridge(safejs.Undefined(), safejs.Undefined())
	self := js.Global().Get("Object").New()
	p := &peerObject{objectBase: objectBase{self: safejs.Safe(self)}}
	b.add(p)
	tests := []struct {
		name   string
		method string
		handle int
		check  func(js.Value) bool
	}{
		{"data method on a peer", "send", p.handle, func(v js.Value) bool {
			return v.InstanceOf(safejs.Unsafe(jsErrorCtor)) && strings.Contains(v.Get("message").String(), `"send" is a data method, called on a peer`)
		}},
		{"connection method on a peer", "connOpen", p.handle, func(v js.Value) bool { return v.InstanceOf(safejs.Unsafe(jsErrorCtor)) }},
		{"room method on a peer", "roomMembers", p.handle, func(v js.Value) bool { return v.InstanceOf(safejs.Unsafe(jsErrorCtor)) }},
		{"peer method on no object", "peerId", p.handle + 1, func(v js.Value) bool { return v.IsNull() }},
		{"connection method on no object", "connOpen", p.handle + 1, func(v js.Value) bool { return v.Equal(js.ValueOf(false)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := jsOf(t, b.call(safejs.Undefined(), safeArgs(tt.method, tt.handle, self)))
			if !tt.check(r) {
				t.Errorf("%s on handle %d returned %v", tt.method, tt.handle, r)
			}
		})
	}
}

// safeArgs are a bridge call's arguments, as safejs hands them over.
func safeArgs(args ...any) []safejs.Value {
	out := make([]safejs.Value, len(args))
	for i, a := range args {
		out[i] = safejs.Safe(js.ValueOf(a))
	}
	return out
}
