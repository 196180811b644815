// Package browsertest runs Go tests compiled for GOOS=js GOARCH=wasm in headless
// Chromium, for skywasm's own tests. It is a test-only helper, not for users,
// and it must never be imported by non-test code.
//
// A native test (its file built with //go:build !js, so that it does not run
// itself in the browser) starts what the browser side needs, typically a
// signaling server from httptest, and hands its address over in the
// environment:
//
//	browsertest.Run(t, ".", []string{"SKYWASM_URL=" + srv.URL}, "-run", "TestBrowser")
//
// The wasm test (its file built with //go:build js && wasm) reads it with
// os.Getenv("SKYWASM_URL"), and fails rather than skips when it is empty.
//
// Run uses wasmbrowsertest, pinned by the tool directive in go.mod, and the
// wrapper scripts/chromium, which is the single list of the Chromium flags the
// tests need: the fake camera and microphone, ICE on loopback (the tests run
// in the loopback-only network namespace of scripts/netns.sh), no sandbox as
// root. Go reads that list from the script (ChromiumFlags) rather than
// keeping a copy. Missing Chromium fails a test, never skips it:
// scripts/deps.sh installs it.
//
// # The page
//
// wasmbrowsertest copies the environment of the test binary into the page,
// and the page's command line and environment share about 8 KB, so Run passes
// the child go command only the variables it needs plus the ones given. Each
// run is one go test, one Chromium start (2–3 s) and, when the package
// changed, a wasm build (about a minute cold on two cores).
//
// In the wasm test, a js.FuncOf callback that can fire after the test ended
// must not touch t (that crashes the binary), and a listener must be removed
// before its js.Func is released (a released function called from an event
// still queued panics). The page's server is another origin than one a
// native test starts, so that server must allow it (CORS, or the allowed
// origins of a WebSocket).
package browsertest
