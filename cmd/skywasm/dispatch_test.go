package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/skywasm/skywasm/server/config"
)

// TestDispatchHandler: a single server answers no nodes, a cluster node
// its dispatcher's answer, and either lets a page of the app's domains read
// it.
func TestDispatchHandler(t *testing.T) {
	t.Parallel()
	cfg := &config.Config{Apps: []config.App{
		{Key: testKey, Secret: testSecret, Domains: []string{"app.example"}},
		{Key: otherKey, Secret: testSecret},
	}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cluster := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	tests := []struct {
		name, key, origin string
		dispatcher        http.Handler
		status            int
		allow             string
	}{
		{"single server, allowed page", testKey, "https://app.example", nil, 200, "https://app.example"},
		{"single server, other page", testKey, "https://evil.example", nil, 200, ""},
		{"single server, app of any domain", otherKey, "http://localhost:5173", nil, 200, "http://localhost:5173"},
		{"single server, unknown key", "0f6a7c3e-0000-4c5a-9e8f-112233445566", "https://app.example", nil, 200, ""},
		{"single server, not a browser", testKey, "", nil, 200, ""},
		{"cluster node, allowed page", testKey, "https://app.example", cluster, http.StatusTeapot, "https://app.example"},
		{"cluster node, other page", testKey, "https://evil.example", cluster, http.StatusTeapot, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest("GET", "/v1/dispatch?key="+tt.key, nil)
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			w := httptest.NewRecorder()
			dispatchHandler(cfg, tt.dispatcher).ServeHTTP(w, req)
			if tt.dispatcher == nil && w.Body.String() != "{\"nodes\":[]}\n" {
				t.Errorf("a single server answered %q", w.Body)
			}
			if w.Code != tt.status || w.Header().Get("Access-Control-Allow-Origin") != tt.allow {
				t.Fatalf("status %d, Access-Control-Allow-Origin %q; want %d, %q", w.Code, w.Header().Get("Access-Control-Allow-Origin"), tt.status, tt.allow)
			}
		})
	}
}
