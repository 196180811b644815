//go:build !js

package main

import (
	"testing"

	"github.com/skywasm/skywasm/internal/browsertest"
)

// TestBrowser runs this package's wasm tests (bridge_js_test.go) in
// headless Chromium: the bridge's conversions need a real JavaScript engine.
// They get the shim's list of bridge methods to compare with Go's.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	browsertest.Run(t, "github.com/skywasm/skywasm/wasm", []string{shimMethodsEnv(t)}, "-v")
}
