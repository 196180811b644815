//go:build !js

package jsutil

import (
	"testing"

	"github.com/skywasm/skywasm/internal/browsertest"
)

// TestBrowser runs this package's wasm tests in headless Chromium.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	browsertest.Run(t, "github.com/skywasm/skywasm/internal/jsutil", nil, "-v")
}
