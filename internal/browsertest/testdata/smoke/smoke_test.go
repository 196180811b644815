//go:build js && wasm

// Package smoke is the browser half of browsertest's own test: TestRun in
// ../../browsertest_test.go runs it in Chromium through browsertest.Run. It
// proves that the environment reaches the page, that the page reaches a
// server in the native test, that the fake camera and microphone work, and
// that two peer connections in the page connect over loopback, which is all
// the network scripts/netns.sh leaves.
package smoke

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"syscall/js"
	"testing"
	"time"
)

// envValue is what TestRun passes in SMOKE_VALUE; the same literal is in
// browsertest_test.go. Its quotes, backslash, angle brackets and non-ASCII
// letters check that the value survives being written into the page's script.
const envValue = `a "quoted" \value\ </script> with ünïcödé`

func TestEnvironment(t *testing.T) {
	if got := os.Getenv("SMOKE_VALUE"); got != envValue {
		t.Errorf("os.Getenv(%q) = %q, want %q", "SMOKE_VALUE", got, envValue)
	}
	var keys []string
	size := 0
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		keys = append(keys, k)
		size += len(kv) + 1
	}
	sort.Strings(keys)
	t.Logf("the page's environment, %d bytes: %s", size, strings.Join(keys, " "))
}

// TestServer fetches SMOKE_URL, a server the native test started: the way
// a wasm test reaches a signaling server.
func TestServer(t *testing.T) {
	url := os.Getenv("SMOKE_URL")
	if url == "" {
		t.Fatal("SMOKE_URL is not set: run this test through browsertest.Run")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK || string(body) != "pong" {
		t.Errorf("GET %s: %s %q, want 200 OK %q", url, resp.Status, body, "pong")
	}
}

func TestGetUserMedia(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	constraints := map[string]any{"video": true, "audio": true}
	start := time.Now()
	stream, err := await(ctx, js.Global().Get("navigator").Get("mediaDevices").Call("getUserMedia", constraints))
	if err != nil {
		t.Fatalf("getUserMedia: %v (is --use-fake-device-for-media-stream set?)", err)
	}
	t.Logf("getUserMedia took %v", time.Since(start).Round(time.Millisecond))
	tracks := stream.Call("getTracks")
	defer func() {
		for i := range tracks.Length() {
			tracks.Index(i).Call("stop")
		}
	}()

	kinds := map[string]bool{}
	for i := range tracks.Length() {
		track := tracks.Index(i)
		kind, state := track.Get("kind").String(), track.Get("readyState").String()
		t.Logf("track %s %q: %s", kind, track.Get("label").String(), state)
		if state != "live" {
			t.Errorf("the %s track is %s, want live", kind, state)
		}
		kinds[kind] = true
	}
	if !kinds["audio"] || !kinds["video"] {
		t.Errorf("got tracks of kinds %v, want audio and video", kinds)
	}
}

// TestLoopbackDataChannel connects two RTCPeerConnections in the page,
// without getUserMedia first, and sends a message over a data channel.
func TestLoopbackDataChannel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()

	newPC := js.Global().Get("RTCPeerConnection")
	offerer, answerer := newPC.New(), newPC.New()
	t.Cleanup(func() {
		offerer.Call("close")
		answerer.Call("close")
	})

	opened := make(chan struct{}, 1)
	received := make(chan string, 1)
	channel := offerer.Call("createDataChannel", "smoke")
	on(t, channel, "open", func(js.Value) { notify(opened, struct{}{}) })
	on(t, answerer, "datachannel", func(ev js.Value) {
		on(t, ev.Get("channel"), "message", func(ev js.Value) { notify(received, ev.Get("data").String()) })
	})

	// Full ICE gathering instead of trickle: the candidates travel in the
	// descriptions, and no callback has to await addIceCandidate.
	offer, err := describe(ctx, offerer, "createOffer")
	if err != nil {
		t.Fatalf("offer: %v", err)
	}
	if _, err := await(ctx, answerer.Call("setRemoteDescription", offer)); err != nil {
		t.Fatalf("setRemoteDescription(offer): %v", err)
	}
	answer, err := describe(ctx, answerer, "createAnswer")
	if err != nil {
		t.Fatalf("answer: %v", err)
	}
	if _, err := await(ctx, offerer.Call("setRemoteDescription", answer)); err != nil {
		t.Fatalf("setRemoteDescription(answer): %v", err)
	}
	for _, line := range strings.Split(offer.Get("sdp").String(), "\r\n") {
		if strings.HasPrefix(line, "a=candidate:") {
			t.Logf("offered %s", line)
		}
	}
	if !strings.Contains(offer.Get("sdp").String(), "a=candidate:") {
		t.Fatal("the offer has no ICE candidate: are --allow-loopback-in-peer-connection and --use-fake-ui-for-media-stream set?")
	}

	select {
	case <-opened:
	case <-ctx.Done():
		t.Fatalf("the data channel did not open: ICE is %s", offerer.Get("iceConnectionState").String())
	}
	channel.Call("send", "ping")
	select {
	case msg := <-received:
		if msg != "ping" {
			t.Errorf("received %q, want %q", msg, "ping")
		}
	case <-ctx.Done():
		t.Fatal("the message did not arrive")
	}
	t.Logf("connected and delivered a message in %v", time.Since(start).Round(time.Millisecond))
}

// describe makes pc's offer or answer (method is createOffer or
// createAnswer), sets it as the local description and returns that
// description once ICE gathering is complete, so it lists every candidate.
func describe(ctx context.Context, pc js.Value, method string) (js.Value, error) {
	gathered := make(chan struct{}, 1)
	check := js.FuncOf(func(js.Value, []js.Value) any {
		if pc.Get("iceGatheringState").String() == "complete" {
			notify(gathered, struct{}{})
		}
		return nil
	})
	pc.Call("addEventListener", "icegatheringstatechange", check)
	defer func() {
		pc.Call("removeEventListener", "icegatheringstatechange", check)
		check.Release()
	}()

	desc, err := await(ctx, pc.Call(method))
	if err != nil {
		return js.Value{}, err
	}
	if _, err := await(ctx, pc.Call("setLocalDescription", desc)); err != nil {
		return js.Value{}, err
	}
	if pc.Get("iceGatheringState").String() != "complete" {
		select {
		case <-gathered:
		case <-ctx.Done():
			return js.Value{}, errors.New("ICE gathering did not complete")
		}
	}
	return pc.Get("localDescription"), nil
}

// on adds fn as a listener for event on target until the test ends. fn runs
// on the JavaScript event loop, so it must not block.
func on(t *testing.T, target js.Value, event string, fn func(ev js.Value)) {
	f := js.FuncOf(func(_ js.Value, args []js.Value) any {
		fn(args[0])
		return nil
	})
	target.Call("addEventListener", event, f)
	t.Cleanup(func() {
		// Removed before released: an event still queued would otherwise
		// call a released function, which crashes the program.
		target.Call("removeEventListener", event, f)
		f.Release()
	})
}

// notify sends v on ch unless ch is full; ch has a buffer of one.
func notify[T any](ch chan T, v T) {
	select {
	case ch <- v:
	default:
	}
}

// await waits for promise to settle and returns its value, or its reason as
// an error. It must not be called from a js.FuncOf callback.
func await(ctx context.Context, promise js.Value) (js.Value, error) {
	type result struct {
		value js.Value
		err   error
	}
	settled := make(chan result, 1)
	onFulfilled := js.FuncOf(func(_ js.Value, args []js.Value) any {
		settled <- result{value: args[0]}
		return nil
	})
	onRejected := js.FuncOf(func(_ js.Value, args []js.Value) any {
		settled <- result{err: errors.New(args[0].Call("toString").String())}
		return nil
	})
	promise.Call("then", onFulfilled, onRejected)
	select {
	case r := <-settled:
		onFulfilled.Release()
		onRejected.Release()
		return r.value, r.err
	case <-ctx.Done():
		// Both functions stay alive: the promise may still settle, and a
		// released function must never be called.
		return js.Value{}, ctx.Err()
	}
}
