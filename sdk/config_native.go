//go:build !js

package sdk

import (
	"net/http"

	"github.com/pion/webrtc/v4"
)

// Configuration is what PeerOptions.Config takes: natively pion's
// webrtc.Configuration itself.
type Configuration = webrtc.Configuration

// httpClient is what PeerOptions.HTTPClient points to: natively net/http's
// Client.
type httpClient = http.Client

func pionConfiguration(c Configuration) webrtc.Configuration { return c }
