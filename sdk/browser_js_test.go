//go:build js && wasm

package sdk_test

// These tests run in headless Chromium through wasmbrowsertest. The native
// TestBrowser (browser_test.go) starts the server and a native peer, and
// runs them with the addresses in the environment.

import (
	"context"
	"os"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"syscall/js"
	"testing"
	"time"

	"github.com/hack-pad/safejs"
	"go.uber.org/goleak"

	"github.com/skywasm/skywasm/internal/jsutil"
	"github.com/skywasm/skywasm/sdk"
)

// TestMain checks that the browser build leaves no goroutine behind once
// every Peer is destroyed.
func TestMain(m *testing.M) {
	// runtime.handleEvent is the wasm runtime's own event goroutine, and
	// jsutil's worker runs the callbacks from JavaScript (jsutil.FuncOf).
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("runtime.handleEvent"),
		goleak.IgnoreAnyFunction("github.com/skywasm/skywasm/internal/jsutil.work"))
}

// server returns the test server's URL and key from the environment.
func server(t *testing.T) (url, key string) {
	t.Helper()
	url, key = os.Getenv("SKYWASM_URL"), os.Getenv("SKYWASM_KEY")
	if url == "" || key == "" {
		t.Fatal("SKYWASM_URL and SKYWASM_KEY are unset: run these tests through the native TestBrowser")
	}
	return url, key
}

func openPeer(t *testing.T, opts sdk.PeerOptions) *sdk.Peer {
	t.Helper()
	opts.URL, opts.Key = server(t)
	p := startPeer(t, opts)
	waitOpen(t, p)
	return p
}

// camera returns the fake camera and microphone.
func camera(t *testing.T) *sdk.MediaStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	constraints := map[string]any{"video": true, "audio": true}
	v, err := await(ctx, js.Global().Get("navigator").Get("mediaDevices").Call("getUserMedia", constraints))
	if err != nil {
		t.Fatalf("getUserMedia: %v", err)
	}
	t.Cleanup(func() {
		tracks := v.Call("getTracks")
		for i := range tracks.Length() {
			tracks.Index(i).Call("stop")
		}
	})
	return sdk.StreamFromJS(v)
}

// await is jsutil.Await for the tests, which play the page's part with
// syscall/js.
func await(ctx context.Context, promise js.Value) (js.Value, error) {
	v, err := jsutil.Await(ctx, safejs.Safe(promise))
	return safejs.Unsafe(v), err
}

// liveTracks counts a stream's tracks in readyState "live", by kind.
func liveTracks(s *sdk.MediaStream) map[string]int {
	n := map[string]int{}
	tracks := s.JSValue().Call("getTracks")
	for i := range tracks.Length() {
		if tr := tracks.Index(i); tr.Get("readyState").String() == "live" {
			n[tr.Get("kind").String()]++
		}
	}
	return n
}

// framesDecoded sums the decoded video frames of a connection's receivers.
func framesDecoded(t *testing.T, c sdk.Connection) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	report, err := await(ctx, c.PeerConnection().JSValue().Call("getStats"))
	if err != nil {
		t.Fatalf("getStats: %v", err)
	}
	total := 0
	each := js.FuncOf(func(_ js.Value, args []js.Value) any {
		s := args[0]
		if s.Get("type").String() == "inbound-rtp" && s.Get("kind").String() == "video" {
			if f := s.Get("framesDecoded"); f.Type() == js.TypeNumber {
				total += f.Int()
			}
		}
		return nil
	})
	defer each.Release()
	report.Call("forEach", each)
	return total
}

// waitFrames waits until a connection has decoded at least n video frames.
func waitFrames(t *testing.T, c sdk.Connection, n int, who string) int {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		f := framesDecoded(t, c)
		if f >= n {
			return f
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s decoded %d video frames, want %d", who, f, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestInBrowserCall: two Peers in one page call each other with the fake
// camera; both get a stream with live tracks and decode video.
func TestInBrowserCall(t *testing.T) {
	a, b := openPeer(t, sdk.PeerOptions{}), openPeer(t, sdk.PeerOptions{})
	calls := make(chan *sdk.MediaConnection, 1)
	farGot, nearGot := make(chan *sdk.MediaStream, 4), make(chan *sdk.MediaStream, 4)
	bStream := camera(t)
	b.OnCall(func(mc *sdk.MediaConnection) {
		mc.OnStream(func(s *sdk.MediaStream) { farGot <- s })
		if err := mc.Answer(bStream, nil); err != nil {
			t.Error(err)
		}
		calls <- mc
	})
	near, err := a.Call(b.ID(), camera(t), &sdk.CallOptions{Metadata: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	near.OnStream(func(s *sdk.MediaStream) { nearGot <- s })
	far := recv(t, calls, "the call event")
	for who, ch := range map[string]chan *sdk.MediaStream{"caller": nearGot, "callee": farGot} {
		s := recv(t, ch, "the "+who+"'s stream event")
		if n := liveTracks(s); n["audio"] != 1 || n["video"] != 1 {
			t.Errorf("the %s's remote stream has live tracks %v", who, n)
		}
	}
	t.Logf("frames decoded: caller %d, callee %d",
		waitFrames(t, near, 10, "the caller"), waitFrames(t, far, 10, "the callee"))

	closed := make(chan struct{}, 2)
	near.OnClose(func() { closed <- struct{}{} })
	far.OnClose(func() { closed <- struct{}{} })
	start := time.Now()
	near.Close(true)
	recv(t, closed, "a close")
	recv(t, closed, "the other close")
	if d := time.Since(start); d > time.Second {
		t.Errorf("both closes took %v", d)
	}
}

// TestInBrowserData: two Peers in one page exchange values.
func TestInBrowserData(t *testing.T) {
	a, b := openPeer(t, sdk.PeerOptions{}), openPeer(t, sdk.PeerOptions{})
	for _, ser := range []string{sdk.SerializationBinary, sdk.SerializationJSON} {
		t.Run(ser, func(t *testing.T) {
			incoming := make(chan *sdk.DataConnection, 1)
			received := make(chan any, 16)
			opened := make(chan struct{}, 2)
			b.OnConnection(func(dc *sdk.DataConnection) {
				dc.OnData(func(v any) { received <- v })
				dc.OnOpen(func() { opened <- struct{}{} })
				incoming <- dc
			})
			dc, err := a.Connect(b.ID(), &sdk.ConnectOptions{Serialization: ser})
			if err != nil {
				t.Fatal(err)
			}
			dc.OnOpen(func() { opened <- struct{}{} })
			recv(t, incoming, "the connection event")
			recv(t, opened, "open")
			recv(t, opened, "open")
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			msg := map[string]any{"text": "hello", "n": 2.5, "list": []any{"a", true}}
			if err := dc.Send(ctx, msg); err != nil {
				t.Fatal(err)
			}
			if got := recv(t, received, "data"); !reflect.DeepEqual(got, msg) {
				t.Errorf("got %#v, want %#v", got, msg)
			}
			if ser == sdk.SerializationBinary {
				big := make([]byte, 3<<20)
				for i := range big {
					big[i] = byte(i * 7)
				}
				if err := dc.Send(ctx, big); err != nil {
					t.Fatal(err)
				}
				if got, _ := recv(t, received, "3 MB").([]byte); !reflect.DeepEqual(got, big) {
					t.Errorf("3 MB arrived as %d bytes, not equal", len(got))
				}
			}
			dc.Close(true)
		})
	}
}

// TestInBrowserRawBinary: a binary connection with OnRawData gets its
// ArrayBuffers and Files of up to 1 MiB there, put together in the page's
// memory: byte for byte what was sent, and with far less Go memory allocated
// than the bytes received (the values never enter Go). Larger values, and
// binary data inside other values, still reach OnData.
func TestInBrowserRawBinary(t *testing.T) {
	a, b := openPeer(t, sdk.PeerOptions{}), openPeer(t, sdk.PeerOptions{})
	incoming := make(chan *sdk.DataConnection, 1)
	raw := make(chan js.Value, 16)
	received := make(chan any, 16)
	opened := make(chan struct{}, 2)
	b.OnConnection(func(dc *sdk.DataConnection) {
		dc.OnData(func(v any) { received <- v })
		dc.OnRawData(func(v js.Value) { raw <- v })
		dc.OnOpen(func() { opened <- struct{}{} })
		incoming <- dc
	})
	dc, err := a.Connect(b.ID(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close(true)
	dc.OnOpen(func() { opened <- struct{}{} })
	recv(t, incoming, "the connection event")
	recv(t, opened, "open")
	recv(t, opened, "open")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	pattern := func(n int, seed byte) []byte {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(i*7) ^ seed
		}
		return p
	}
	bytesOf := func(v js.Value) []byte {
		if v.InstanceOf(js.Global().Get("Blob")) {
			var err error
			if v, err = await(ctx, v.Call("arrayBuffer")); err != nil {
				t.Fatal(err)
			}
		}
		u8 := js.Global().Get("Uint8Array").New(v)
		p := make([]byte, u8.Length())
		js.CopyBytesToGo(p, u8)
		return p
	}

	var allocated, moved uint64
	for _, tc := range []struct {
		name string
		v    any
	}{
		{"64 KiB", pattern(64<<10, 1)},
		{"1 MiB", pattern(1<<20, 2)},
		{"a File", sdk.File{Name: "a.bin", Type: "application/x-test", Data: pattern(200<<10, 3)}},
		{"a Blob", sdk.File{Type: "text/plain", Data: pattern(40<<10, 4)}},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if err := dc.Send(ctx, tc.v); err != nil {
			t.Fatal(err)
		}
		got := recv(t, raw, tc.name)
		runtime.ReadMemStats(&after)
		data, _ := tc.v.([]byte)
		if f, ok := tc.v.(sdk.File); ok {
			data = f.Data
			want := "Blob"
			if f.Name != "" {
				want = "File"
			}
			if !got.InstanceOf(js.Global().Get(want)) || got.Get("type").String() != f.Type ||
				f.Name != "" && got.Get("name").String() != f.Name {
				t.Errorf("%s arrived as %s, want a %s %q of type %q", tc.name, js.Global().Get("String").Invoke(got), want, f.Name, f.Type)
			}
		} else if !got.InstanceOf(js.Global().Get("ArrayBuffer")) {
			t.Errorf("%s arrived as %s, want an ArrayBuffer", tc.name, js.Global().Get("String").Invoke(got))
		}
		if p := bytesOf(got); !reflect.DeepEqual(p, data) {
			t.Errorf("%s arrived as %d bytes, not equal", tc.name, len(p))
		}
		allocated += after.TotalAlloc - before.TotalAlloc
		moved += uint64(len(data))
	}
	// The sender's frames go through one reused buffer, and the receiver's
	// bytes stay in the page: what Go allocates is headers, events and
	// the like (about 30 KB a value), not the values' bytes, which it
	// allocated twice over before (its buffer grew as the chunks came).
	t.Logf("Go allocated %d bytes sending and receiving %d", allocated, moved)
	if allocated > moved/3 {
		t.Errorf("Go allocated %d bytes sending and receiving %d", allocated, moved)
	}

	nested := map[string]any{"data": pattern(100<<10, 5)}
	big := pattern(3<<20, 6)
	for _, v := range []any{nested, big} {
		if err := dc.Send(ctx, v); err != nil {
			t.Fatal(err)
		}
		if got := recv(t, received, "data"); !reflect.DeepEqual(got, v) {
			t.Errorf("a %T arrived as %T, not equal", v, got)
		}
	}
	if len(raw) > 0 {
		t.Errorf("%d values went to OnRawData that should not have", len(raw))
	}
}

// TestInBrowserWithNative talks to the native peer the harness runs: data
// both ways (it echoes), and a call whose camera the native side receives
// as RTP (it checks that after this test ends) and answers with synthetic
// VP8 that this browser must decode.
func TestInBrowserWithNative(t *testing.T) {
	native := os.Getenv("SKYWASM_NATIVE_ID")
	if native == "" {
		t.Fatal("SKYWASM_NATIVE_ID is unset: run these tests through the native TestBrowser")
	}
	p := openPeer(t, sdk.PeerOptions{})
	dc, err := p.Connect(native, nil)
	if err != nil {
		t.Fatal(err)
	}
	received := make(chan any, 4)
	opened := make(chan struct{}, 1)
	dc.OnData(func(v any) { received <- v })
	dc.OnOpen(func() { opened <- struct{}{} })
	recv(t, opened, "open with the native peer")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := dc.Send(ctx, map[string]any{"from": "browser", "bytes": []byte{1, 2, 3}}); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"echo": map[string]any{"from": "browser", "bytes": []byte{1, 2, 3}}}
	if got := recv(t, received, "the native echo"); !reflect.DeepEqual(got, want) {
		t.Errorf("echo %#v, want %#v", got, want)
	}

	mc, err := p.Call(native, camera(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	streams := make(chan *sdk.MediaStream, 2)
	mc.OnStream(func(s *sdk.MediaStream) { streams <- s })
	s := recv(t, streams, "the native peer's stream")
	if n := liveTracks(s); n["video"] != 1 || n["audio"] != 1 {
		t.Errorf("the native stream's live tracks: %v", n)
	}
	t.Logf("decoded %d frames of the native peer's synthetic VP8", waitFrames(t, mc, 10, "the browser"))
	// Let the camera's RTP reach the native side before hanging up.
	time.Sleep(time.Second)
	if err := dc.Send(ctx, "done"); err != nil {
		t.Fatal(err)
	}
	recv(t, received, "the native echo of done")
}

// senderTrackIDs lists the IDs of the tracks a connection sends.
func senderTrackIDs(c sdk.Connection) map[string]bool {
	ids := map[string]bool{}
	senders := c.PeerConnection().JSValue().Call("getSenders")
	for i := range senders.Length() {
		if tr := senders.Index(i).Get("track"); tr.Truthy() {
			ids[tr.Get("id").String()] = true
		}
	}
	return ids
}

// TestInBrowserCodecAndReplace: a call limited to VP9 offers nothing else;
// replacing the stream with one of the same kinds swaps the tracks in place
// and the far side keeps decoding.
func TestInBrowserCodecAndReplace(t *testing.T) {
	a, b := openPeer(t, sdk.PeerOptions{}), openPeer(t, sdk.PeerOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ids, err := a.ListAllPeers(ctx)
	if err != nil || !slices.Contains(ids, a.ID()) || !slices.Contains(ids, b.ID()) {
		t.Errorf("ListAllPeers from the page: %v %v", ids, err)
	}

	calls := make(chan *sdk.MediaConnection, 1)
	streams := make(chan *sdk.MediaStream, 2)
	b.OnCall(func(mc *sdk.MediaConnection) {
		mc.OnStream(func(s *sdk.MediaStream) { streams <- s })
		if err := mc.Answer(nil, nil); err != nil {
			t.Error(err)
		}
		calls <- mc
	})
	near, err := a.Call(b.ID(), camera(t), &sdk.CallOptions{VideoCodec: "VP9", VideoBandwidth: 500})
	if err != nil {
		t.Fatal(err)
	}
	far := recv(t, calls, "the call")
	recv(t, streams, "the stream")
	offer := far.PeerConnection().RemoteDescription().SDP
	if strings.Contains(offer, "VP8/90000") || !strings.Contains(offer, "VP9/90000") {
		t.Errorf("the offer of a VP9 call:\n%s", offer)
	}
	before := waitFrames(t, far, 5, "the callee")

	next := camera(t)
	if err := near.ReplaceStream(next); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	tracks := next.JSValue().Call("getTracks")
	for i := range tracks.Length() {
		want[tracks.Index(i).Get("id").String()] = true
	}
	deadline := time.Now().Add(wait)
	for !reflect.DeepEqual(senderTrackIDs(near), want) {
		if time.Now().After(deadline) {
			t.Fatalf("senders send %v, want the new stream's %v", senderTrackIDs(near), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	after := waitFrames(t, far, before+10, "the callee after the replacement")
	t.Logf("the callee decoded %d frames before the replacement and %d after", before, after-before)
	select {
	case s := <-streams:
		t.Errorf("a same-kinds replacement made a new stream event %q", s.ID())
	default:
	}
}

// recovery notes a connection's reconnecting, reconnected and close events.
type recovery struct {
	reconnecting, reconnected chan struct{}
	closed                    chan struct{}
}

func watchRecovery(c sdk.Connection) *recovery {
	r := &recovery{make(chan struct{}, 16), make(chan struct{}, 16), make(chan struct{}, 1)}
	c.OnReconnecting(func() { r.reconnecting <- struct{}{} })
	c.OnReconnected(func() { r.reconnected <- struct{}{} })
	switch c := c.(type) {
	case *sdk.MediaConnection:
		c.OnClose(func() { r.closed <- struct{}{} })
	case *sdk.DataConnection:
		c.OnClose(func() { r.closed <- struct{}{} })
	}
	return r
}

// TestInBrowserICERestart: native-cut, a native peer behind a UDP
// blackhole with short ICE timeouts, connects to and calls this page's
// peer when asked through native-bot, then cuts the path for 5 s. ICE
// fails on the native side, which restarts it as the offerer; after the
// thaw the call's video and the data connection carry on, and nothing
// closes, and the page's connections hold the restart's new ICE
// credentials. Chromium, seeing the restart offer before its own timeouts
// (which cannot be shortened) end, may never report the cut as
// disconnected; if it reports reconnecting, it must report reconnected.
func TestInBrowserICERestart(t *testing.T) {
	native := os.Getenv("SKYWASM_NATIVE_ID")
	if native == "" {
		t.Fatal("SKYWASM_NATIVE_ID is unset: run these tests through the native TestBrowser")
	}
	p := openPeer(t, sdk.PeerOptions{})
	calls := make(chan *sdk.MediaConnection, 1)
	streams := make(chan *sdk.MediaStream, 2)
	p.OnCall(func(mc *sdk.MediaConnection) {
		mc.OnStream(func(s *sdk.MediaStream) { streams <- s })
		if err := mc.Answer(nil, nil); err != nil {
			t.Error(err)
		}
		calls <- mc
	})
	incoming := make(chan *sdk.DataConnection, 1)
	echoes := make(chan any, 4)
	opened := make(chan struct{}, 2)
	p.OnConnection(func(dc *sdk.DataConnection) {
		dc.OnData(func(v any) { echoes <- v })
		dc.OnOpen(func() { opened <- struct{}{} })
		incoming <- dc
	})

	ctl, err := p.Connect(native, nil)
	if err != nil {
		t.Fatal(err)
	}
	replies := make(chan any, 4)
	ctl.OnData(func(v any) { replies <- v })
	ctl.OnOpen(func() { opened <- struct{}{} })
	recv(t, opened, "open with native-bot")
	ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
	defer cancel()
	command := func(cmd map[string]any, what string) {
		t.Helper()
		if err := ctl.Send(ctx, cmd); err != nil {
			t.Fatal(err)
		}
		select {
		case <-replies:
		case <-ctx.Done():
			t.Fatalf("no reply from native-bot to %s", what)
		}
	}
	command(map[string]any{"dial": p.ID()}, "dial")

	dc, mc := recv(t, incoming, "native-cut's connection"), recv(t, calls, "native-cut's call")
	recv(t, opened, "open with native-cut")
	recv(t, streams, "native-cut's stream")
	before := waitFrames(t, mc, 10, "the browser before the cut")
	echo := func(msg string) {
		t.Helper()
		if err := dc.Send(ctx, msg); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"echo": msg}
		if got := recv(t, echoes, "native-cut's echo of "+msg); !reflect.DeepEqual(got, want) {
			t.Errorf("echo %#v, want %#v", got, want)
		}
	}
	echo("before the cut")

	recs := map[string]*recovery{"data": watchRecovery(dc), "call": watchRecovery(mc)}
	conns := map[string]sdk.Connection{"data": dc, "call": mc}
	ufrags := map[string]string{}
	for name, c := range conns {
		ufrags[name] = remoteUfrag(c)
	}
	start := time.Now()
	// The reply comes once native-cut has reconnected after the thaw.
	command(map[string]any{"cut": "5s"}, "cut")
	t.Logf("native-cut reconnected %v after the cut began", time.Since(start).Round(time.Millisecond))

	echo("after the cut")
	after := waitFrames(t, mc, before+30, "the browser after the cut")
	t.Logf("decoded %d frames before the cut, %d in all %v after it began", before, after, time.Since(start).Round(time.Millisecond))

	for name, c := range conns {
		// An ICE restart offer carries new credentials.
		if u := remoteUfrag(c); u == ufrags[name] || u == "" {
			t.Errorf("the %s connection's remote ICE ufrag is %q after the cut, %q before", name, u, ufrags[name])
		}
	}
	for name, r := range recs {
		select {
		case <-r.closed:
			t.Fatalf("the %s connection closed", name)
		default:
		}
		select {
		case <-r.reconnecting:
			select {
			case <-r.reconnected:
				t.Logf("the %s connection reported reconnecting and reconnected", name)
			case <-time.After(wait):
				t.Errorf("the %s connection reported reconnecting but never reconnected", name)
			}
		default:
			t.Logf("the %s connection never reported reconnecting: the restart offer came before Chromium declared ICE disconnected", name)
		}
	}
}

// remoteUfrag returns the ICE username fragment of a connection's remote
// description.
func remoteUfrag(c sdk.Connection) string {
	for line := range strings.Lines(c.PeerConnection().RemoteDescription().SDP) {
		if u, ok := strings.CutPrefix(strings.TrimSpace(line), "a=ice-ufrag:"); ok {
			return u
		}
	}
	return ""
}
