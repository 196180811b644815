package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/skywasm/skywasm/server"
	"github.com/skywasm/skywasm/server/config"
	"github.com/skywasm/skywasm/server/signaling"
)

// TestPerIPLimits: one client address holds a bounded number of signaling
// sockets and API requests and opens a bounded number a second (5,000
// sockets from one address were all accepted); behind a trusted proxy the
// address is X-Forwarded-For's.
func TestPerIPLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		network config.Network
		// xff gives each dial its own X-Forwarded-For, if set.
		xff      []string
		refused  bool // the third dial
		apiLimit bool // an API request is refused too while the sockets are open
	}{
		{"connections", config.Network{PerIP: config.PerIP{Connections: 2}}, nil, true, true},
		{"handshakes a second", config.Network{PerIP: config.PerIP{HandshakesPerSecond: 1, HandshakeBurst: 2}}, nil, true, true},
		{"an untrusted X-Forwarded-For changes nothing", config.Network{PerIP: config.PerIP{Connections: 2}},
			[]string{"203.0.113.1", "203.0.113.2", "203.0.113.3"}, true, true},
		{"behind a trusted proxy each client has its own",
			config.Network{PerIP: config.PerIP{Connections: 2}, TrustedProxies: []string{"127.0.0.1"}},
			[]string{"203.0.113.1", "203.0.113.2", "203.0.113.3"}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig()
			cfg.Network = tt.network
			e := newEnv(t, server.Options{Config: cfg})
			ws := "ws" + strings.TrimPrefix(e.http.URL, "http") + signaling.Path + "?" + url.Values{"key": {key}}.Encode()
			dial := func(i int) (*websocket.Conn, *http.Response, error) {
				ctx, cancel := context.WithTimeout(context.Background(), wait)
				defer cancel()
				h := http.Header{}
				if tt.xff != nil {
					h.Set("X-Forwarded-For", tt.xff[i])
				}
				return websocket.Dial(ctx, ws, &websocket.DialOptions{HTTPHeader: h})
			}
			for i := range 2 {
				conn, _, err := dial(i)
				if err != nil {
					t.Fatalf("dial %d: %v", i, err)
				}
				t.Cleanup(func() { conn.CloseNow() })
			}
			conn, resp, err := dial(2)
			if err == nil {
				t.Cleanup(func() { conn.CloseNow() })
			}
			switch {
			case tt.refused && (err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests):
				t.Fatalf("third dial: %v, response %v; want 429", err, resp)
			case !tt.refused && err != nil:
				t.Fatalf("third dial: %v", err)
			}
			res, _ := e.get("/v1/apps/" + key + "/peers/x/exists")
			if got := res.StatusCode == http.StatusTooManyRequests; got != tt.apiLimit {
				t.Fatalf("API request: %d", res.StatusCode)
			}
		})
	}
}
