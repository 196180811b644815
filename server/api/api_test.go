package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/api"
	"github.com/skywasm/skywasm/server/config"
	"github.com/skywasm/skywasm/server/routing"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	// keyA may list its peers and takes pages from localhost and *.example.com.
	keyA = "0f6a7c3e-1d2b-4c5a-9e8f-112233445566"
	// keyB may not list its peers and takes pages from anywhere.
	keyB    = "1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d"
	unknown = "99999999-9999-4999-8999-999999999999"
	secret  = "test-secret-0123456789"
)

type nopInbox struct{}

func (nopInbox) Deliver(m *routing.Message) { m.Release() }
func (nopInbox) Evict(routing.Eviction)     {}

// newAPI serves the API for keyA and keyB, with peers claimed directly on
// the router: carol, alice and bob under keyA, and alice and dave under keyB.
func newAPI(t *testing.T) *httptest.Server {
	t.Helper()
	apps := &config.Config{Apps: []config.App{
		{
			Key: keyA, Secret: secret, Domains: []string{"localhost", "*.example.com"},
			Permissions: config.Permissions{ListPeers: true}, Limits: config.DefaultLimits(),
		},
		{Key: keyB, Secret: secret, Limits: config.DefaultLimits()},
	}}
	if err := apps.Validate(); err != nil {
		t.Fatal(err)
	}
	router := routing.NewLocal()
	for _, c := range []routing.Claim{
		{Key: keyA, ID: "carol"}, {Key: keyA, ID: "alice"}, {Key: keyA, ID: "bob two"},
		{Key: keyB, ID: "alice"}, {Key: keyB, ID: "dave"},
	} {
		if err := router.Claim(context.Background(), c, nopInbox{}); err != nil {
			t.Fatal(err)
		}
	}
	hs := httptest.NewServer(api.New(apps, router))
	t.Cleanup(hs.Close)
	return hs
}

// do sends a request with an Origin header (none if origin is "") and
// returns the response with its body read.
func do(t *testing.T, hs *httptest.Server, method, path, origin string) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, hs.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func peersPath(key string) string      { return "/v1/apps/" + key + "/peers" }
func existsPath(key, id string) string { return "/v1/apps/" + key + "/peers/" + id + "/exists" }

func TestAPI(t *testing.T) {
	t.Parallel()
	hs := newAPI(t)
	tests := []struct {
		name    string
		path    string
		origin  string
		status  int
		want    any                // the decoded body of a success, compared as JSON
		errType protocol.ErrorType // the body's type on a refusal
	}{
		{"peers sorted", peersPath(keyA), "", http.StatusOK, []string{"alice", "bob two", "carol"}, ""},
		{"peers with allowed origin", peersPath(keyA), "http://localhost:5173", http.StatusOK, []string{"alice", "bob two", "carol"}, ""},
		{"list not permitted", peersPath(keyB), "", http.StatusForbidden, nil, protocol.ErrList},
		{"peers of unknown key", peersPath(unknown), "", http.StatusNotFound, nil, protocol.ErrInvalidKey},
		{"peers of malformed key", peersPath("not-a-key"), "", http.StatusNotFound, nil, protocol.ErrInvalidKey},
		{"peers from refused origin", peersPath(keyA), "https://evil.example", http.StatusForbidden, nil, protocol.ErrInvalidDomain},
		{"peers from opaque origin", peersPath(keyA), "null", http.StatusForbidden, nil, protocol.ErrInvalidDomain},
		{"exists", existsPath(keyA, "alice"), "", http.StatusOK, api.ExistsBody{Exists: true}, ""},
		{"exists with space", existsPath(keyA, "bob%20two"), "", http.StatusOK, api.ExistsBody{Exists: true}, ""},
		{"absent", existsPath(keyA, "dave"), "", http.StatusOK, api.ExistsBody{Exists: false}, ""},
		{"exists is per key", existsPath(keyB, "carol"), "", http.StatusOK, api.ExistsBody{Exists: false}, ""},
		{"exists without list permission", existsPath(keyB, "dave"), "", http.StatusOK, api.ExistsBody{Exists: true}, ""},
		{"exists of unknown key", existsPath(unknown, "alice"), "", http.StatusNotFound, nil, protocol.ErrInvalidKey},
		{"invalid id", existsPath(keyA, "no.dots"), "", http.StatusBadRequest, nil, protocol.ErrInvalidID},
		{"id with trailing space", existsPath(keyA, "alice%20"), "", http.StatusBadRequest, nil, protocol.ErrInvalidID},
		{"id too long", existsPath(keyA, strings.Repeat("a", protocol.MaxPeerIDLength+1)), "", http.StatusBadRequest, nil, protocol.ErrInvalidID},
		{"exists from refused origin", existsPath(keyA, "alice"), "http://example.com", http.StatusForbidden, nil, protocol.ErrInvalidDomain},
		{"exists from wildcard origin", existsPath(keyA, "alice"), "https://app.example.com:8443", http.StatusOK, api.ExistsBody{Exists: true}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, body := do(t, hs, http.MethodGet, tt.path, tt.origin)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, tt.status)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type = %q, want application/json", ct)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", cc)
			}
			if tt.errType != "" {
				var e api.ErrorBody
				if err := json.Unmarshal(body, &e); err != nil || e.Type != tt.errType || e.Message == "" {
					t.Fatalf("body %s (%v), want type %q with a message", body, err, tt.errType)
				}
				if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" && tt.errType == protocol.ErrInvalidDomain {
					t.Fatalf("refused origin got Access-Control-Allow-Origin %q", got)
				}
				return
			}
			want, _ := json.Marshal(tt.want)
			if strings.TrimSpace(string(body)) != string(want) {
				t.Fatalf("body %s, want %s", body, want)
			}
		})
	}
}

func TestAPIEmptyPeerList(t *testing.T) {
	t.Parallel()
	apps := &config.Config{Apps: []config.App{{Key: keyA, Secret: secret, Permissions: config.Permissions{ListPeers: true}}}}
	hs := httptest.NewServer(api.New(apps, routing.NewLocal()))
	defer hs.Close()
	resp, body := do(t, hs, http.MethodGet, peersPath(keyA), "")
	// An empty list is [] for the JavaScript caller, never null.
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "[]" {
		t.Fatalf("%d %s, want 200 []", resp.StatusCode, body)
	}
}

func TestAPICORS(t *testing.T) {
	t.Parallel()
	hs := newAPI(t)
	tests := []struct {
		name   string
		method string
		path   string
		origin string
		status int
		allow  bool // expect Access-Control-Allow-Origin: origin and Vary: Origin
	}{
		{"allowed origin", http.MethodGet, peersPath(keyA), "http://localhost:3000", http.StatusOK, true},
		{"allowed origin, case folded", http.MethodGet, existsPath(keyA, "alice"), "http://LocalHost", http.StatusOK, true},
		{"any origin for an app without domains", http.MethodGet, existsPath(keyB, "dave"), "https://anywhere.test", http.StatusOK, true},
		{"no origin", http.MethodGet, peersPath(keyA), "", http.StatusOK, false},
		{"refused origin", http.MethodGet, peersPath(keyA), "https://example.com", http.StatusForbidden, false},
		{"subdomain lookalike", http.MethodGet, peersPath(keyA), "https://evilexample.com", http.StatusForbidden, false},
		{"preflight peers", http.MethodOptions, peersPath(keyA), "http://localhost:5173", http.StatusNoContent, true},
		{"preflight exists", http.MethodOptions, existsPath(keyA, "alice"), "https://a.example.com", http.StatusNoContent, true},
		{"preflight refused origin", http.MethodOptions, peersPath(keyA), "https://evil.example", http.StatusForbidden, false},
		{"preflight unknown key", http.MethodOptions, peersPath(unknown), "http://localhost", http.StatusNotFound, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, body := do(t, hs, tt.method, tt.path, tt.origin)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, tt.status)
			}
			acao, vary := resp.Header.Get("Access-Control-Allow-Origin"), resp.Header.Values("Vary")
			if tt.allow {
				if acao != tt.origin {
					t.Fatalf("Access-Control-Allow-Origin = %q, want %q", acao, tt.origin)
				}
				if len(vary) != 1 || vary[0] != "Origin" {
					t.Fatalf("Vary = %q, want [Origin]", vary)
				}
			} else if acao != "" {
				t.Fatalf("Access-Control-Allow-Origin = %q, want none", acao)
			}
			if tt.status == http.StatusNoContent {
				if m := resp.Header.Get("Access-Control-Allow-Methods"); !strings.Contains(m, "GET") || !strings.Contains(m, "OPTIONS") {
					t.Fatalf("Access-Control-Allow-Methods = %q", m)
				}
				if len(body) != 0 {
					t.Fatalf("preflight body %q, want none", body)
				}
			}
			if tt.status == http.StatusForbidden {
				var e api.ErrorBody
				if err := json.Unmarshal(body, &e); err != nil || e.Type != protocol.ErrInvalidDomain {
					t.Fatalf("body %s, want invalid-domain", body)
				}
			}
			if tt.status == http.StatusNotFound {
				var e api.ErrorBody
				if err := json.Unmarshal(body, &e); err != nil || e.Type != protocol.ErrInvalidKey {
					t.Fatalf("body %s, want invalid-key", body)
				}
			}
		})
	}
}

func TestAPIMethods(t *testing.T) {
	t.Parallel()
	hs := newAPI(t)
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			resp, body := do(t, hs, method, peersPath(keyA), "")
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Fatalf("%s: status %d (%s), want 405", method, resp.StatusCode, body)
			}
		})
	}
	// HEAD is served as GET, without a body.
	resp, body := do(t, hs, http.MethodHead, peersPath(keyA), "")
	if resp.StatusCode != http.StatusOK || len(body) != 0 {
		t.Fatalf("HEAD: status %d, body %q", resp.StatusCode, body)
	}
}
