package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server"
	"github.com/skywasm/skywasm/server/config"
	"github.com/skywasm/skywasm/server/signaling"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	key    = "0f6a7c3e-1d2b-4c5a-9e8f-112233445566"
	secret = "test-secret-0123456789"
	wait   = 5 * time.Second
)

func testConfig() *config.Config {
	return &config.Config{Apps: []config.App{{
		Key: key, Secret: secret, Domains: []string{"localhost", "127.0.0.1"},
		Permissions: config.Permissions{ListPeers: true, SFU: true},
		Limits:      config.DefaultLimits(),
	}}}
}

// env is a whole server on loopback.
type env struct {
	t    *testing.T
	srv  *server.Server
	http *httptest.Server
}

// newEnv starts a server with opts, whose Config defaults to testConfig.
func newEnv(t *testing.T, opts server.Options) *env {
	t.Helper()
	return serveEnv(t, opts, false)
}

// serveEnv starts a server with opts; timed serves it through its own
// HTTPServer, with the production timeouts, rather than httptest's.
func serveEnv(t *testing.T, opts server.Options, timed bool) *env {
	t.Helper()
	if opts.Config == nil {
		opts.Config = testConfig()
	}
	srv, err := server.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	hs := httptest.NewUnstartedServer(srv.Handler())
	if timed {
		hs.Config = srv.HTTPServer(nil)
	}
	hs.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		hs.Close()
	})
	return &env{t: t, srv: srv, http: hs}
}

// get fetches path without following redirects and returns the response
// with its body read.
func (e *env) get(path string) (*http.Response, string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.http.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	c := *e.http.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, string(body)
}

// client is a signaling socket with a read loop.
type client struct {
	t    *testing.T
	conn *websocket.Conn
	in   chan []byte
	done chan struct{}
	err  error // why the socket ended, once done is closed
}

// dial connects to the signaling socket as peerID and waits for OPEN.
func (e *env) dial(peerID string) *client {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	q := url.Values{"key": {key}, "peerId": {peerID}}
	u := "ws" + strings.TrimPrefix(e.http.URL, "http") + signaling.Path + "?" + q.Encode()
	conn, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		e.t.Fatalf("dial: %v", err)
	}
	c := &client{t: e.t, conn: conn, in: make(chan []byte, 64), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			_, data, err := conn.Read(context.Background())
			if err != nil {
				c.err = err
				return
			}
			c.in <- data
		}
	}()
	e.t.Cleanup(func() { conn.CloseNow(); <-c.done })
	var open protocol.OpenPayload
	c.expect(protocol.Open, &open)
	if open.PeerID != peerID {
		e.t.Fatalf("OPEN for %q, want %q", open.PeerID, peerID)
	}
	return c
}

func (c *client) send(t protocol.MessageType, payload any) {
	c.t.Helper()
	b, err := protocol.Marshal(t, payload)
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *client) expect(t protocol.MessageType, payload any) {
	c.t.Helper()
	var data []byte
	select {
	case data = <-c.in:
	case <-c.done:
		c.t.Fatalf("socket ended while %s was expected: %v", t, c.err)
	case <-time.After(wait):
		c.t.Fatalf("no %s within %v", t, wait)
	}
	var env protocol.Envelope
	if err := json.Unmarshal(data, &env); err != nil || env.Type != t {
		c.t.Fatalf("got %s (%v), want %s", data, err, t)
	}
	if payload != nil {
		if err := json.Unmarshal(env.Payload, payload); err != nil {
			c.t.Fatalf("%s payload %s: %v", t, env.Payload, err)
		}
	}
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	e := newEnv(t, server.Options{})
	resp, body := e.get("/healthz")
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(body) != "ok" {
		t.Fatalf("/healthz = %d %q, want 200 ok", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("Content-Type = %q", ct)
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t, server.Options{})
	c := e.dial("alice")
	c.send(protocol.Ping, nil)
	// Messages are handled in order: once the answer to this one is in, the
	// PING has been counted.
	c.send(protocol.RoomGetUsers, protocol.RoomPayload{RoomName: "barrier"})
	var perr protocol.ErrorPayload
	c.expect(protocol.Error, &perr)
	if perr.Type != protocol.ErrRoom || perr.RoomName != "barrier" {
		t.Fatalf("ERROR = %+v, want room-error for barrier", perr)
	}

	resp, body := e.get("/metrics")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics = %d", resp.StatusCode)
	}
	for _, want := range []string{
		"\nskywasm_signaling_peers 1\n",
		"\nskywasm_signaling_connections 1\n",
		`skywasm_signaling_messages_total{type="PING"} 1` + "\n",
		`skywasm_signaling_messages_total{type="ROOM_GET_USERS"} 1` + "\n",
		`skywasm_signaling_messages_total{type="SEND_OFFER"} 0` + "\n",
		`skywasm_signaling_errors_total{type="room-error"} 1` + "\n",
		"\ngo_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", strings.TrimSpace(want))
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}

// TestMetricsPerServer checks that two servers in one process count apart.
func TestMetricsPerServer(t *testing.T) {
	t.Parallel()
	a, b := newEnv(t, server.Options{}), newEnv(t, server.Options{})
	a.dial("alice")
	if _, body := b.get("/metrics"); !strings.Contains(body, "\nskywasm_signaling_peers 0\n") {
		t.Fatal("the second server counts the first one's peer")
	}
}

func TestPeersAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, server.Options{})
	e.dial("bob")
	e.dial("alice")
	resp, body := e.get("/v1/apps/" + key + "/peers")
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(body) != `["alice","bob"]` {
		t.Fatalf("peers = %d %s, want 200 [alice bob]", resp.StatusCode, body)
	}
	resp, body = e.get("/v1/apps/" + key + "/peers/alice/exists")
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(body) != `{"exists":true}` {
		t.Fatalf("exists = %d %s", resp.StatusCode, body)
	}
}

// writeProject writes a project root with an SDK, examples and files
// around them that must not be served, and returns it.
func writeProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range projectFiles {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A symlink within a tree is followed; one out of it is not, even to
	// the other tree.
	for link, target := range map[string]string{
		"examples/alias.html":  "index.html",
		"examples/escape.txt":  "../secret.txt",
		"examples/sdk-link.js": "../js/skywasm.js",
		"js/sdk.wasm":          "../secret.txt",
	} {
		if err := os.Symlink(target, filepath.Join(dir, filepath.FromSlash(link))); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

var projectFiles = map[string]string{
	"js/skywasm.js":           "globalThis.Peer = class Peer {};\n",
	"js/package.json":         "{}\n",
	"examples/index.html":     "<!doctype html><title>examples</title>\n",
	"examples/_shared/key.js": "window.__SKYWAY_KEY__ = \"from disk\";\n",
	"secret.txt":              "not for serving\n",
}

// TestStatic checks the wiring of server/static, whose own tests cover
// what it serves.
func TestStatic(t *testing.T) {
	t.Parallel()
	dir := writeProject(t)
	dev := newEnv(t, server.Options{StaticDir: dir, Dev: true})
	prod := newEnv(t, server.Options{StaticDir: dir})
	devKeyScript := "window.__SKYWAY_KEY__ = \"" + key + "\";\n"
	tests := []struct {
		name     string
		e        *env
		path     string
		status   int
		body     string // "" checks nothing
		location string
	}{
		{"sdk", dev, "/sdk/skywasm.js", http.StatusOK, projectFiles["js/skywasm.js"], ""},
		{"sdk not allowed", dev, "/sdk/package.json", http.StatusNotFound, "", ""},
		{"sdk symlink out", dev, "/sdk/sdk.wasm", http.StatusNotFound, "", ""},
		{"examples", dev, "/examples/", http.StatusOK, projectFiles["examples/index.html"], ""},
		{"examples symlink", dev, "/examples/alias.html", http.StatusOK, projectFiles["examples/index.html"], ""},
		{"examples symlink out", dev, "/examples/escape.txt", http.StatusNotFound, "", ""},
		{"examples symlink to sdk", dev, "/examples/sdk-link.js", http.StatusNotFound, "", ""},
		{"examples without slash", dev, "/examples", http.StatusTemporaryRedirect, "", "/examples/"}, // ServeMux's redirect to the subtree
		{"dev root", dev, "/", http.StatusFound, "", "/examples/"},
		{"dev key script", dev, "/examples/_shared/key.js", http.StatusOK, devKeyScript, ""},
		{"key script from disk", prod, "/examples/_shared/key.js", http.StatusOK, projectFiles["examples/_shared/key.js"], ""},
		{"no dev root", prod, "/", http.StatusNotFound, "", ""},
		{"missing", dev, "/sdk/missing.js", http.StatusNotFound, "", ""},
		{"elsewhere", dev, "/nothing-here", http.StatusNotFound, "", ""},
		{"root file", dev, "/secret.txt", http.StatusNotFound, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, body := tt.e.get(tt.path)
			if resp.StatusCode != tt.status {
				t.Fatalf("%s: status %d, want %d", tt.path, resp.StatusCode, tt.status)
			}
			if tt.body != "" && body != tt.body {
				t.Fatalf("%s: body %q, want %q", tt.path, body, tt.body)
			}
			if loc := resp.Header.Get("Location"); tt.location != "" && loc != tt.location {
				t.Fatalf("%s: Location %q, want %q", tt.path, loc, tt.location)
			}
		})
	}
	if got := dev.srv.ExamplesPath(); got != "/examples/" {
		t.Errorf("ExamplesPath() = %q, want /examples/", got)
	}
}

func TestNoStaticWithoutDev(t *testing.T) {
	t.Parallel()
	// A StaticDir without js/ or examples/ serves neither, not even the dev
	// key script; without Dev, "/" is not redirected.
	for _, dev := range []bool{false, true} {
		e := newEnv(t, server.Options{StaticDir: t.TempDir(), Dev: dev})
		for _, path := range []string{"/sdk/skywasm.js", "/examples/", "/examples/_shared/key.js"} {
			if resp, _ := e.get(path); resp.StatusCode != http.StatusNotFound {
				t.Errorf("dev %v: %s = %d, want 404", dev, path, resp.StatusCode)
			}
		}
		if got := e.srv.ExamplesPath(); got != "" {
			t.Errorf("dev %v: ExamplesPath() = %q, want none", dev, got)
		}
	}
	e := newEnv(t, server.Options{StaticDir: t.TempDir()})
	if resp, _ := e.get("/"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/ = %d, want 404", resp.StatusCode)
	}
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	badSignaling := signaling.DefaultConfig()
	badSignaling.PingInterval = 0
	tests := []struct {
		name string
		opts server.Options
		want string
	}{
		{"nil config", server.Options{}, "Config is nil"},
		{"no apps", server.Options{Config: &config.Config{}}, "apps"},
		{"bad key", server.Options{Config: &config.Config{Apps: []config.App{{Key: "KEY", Secret: secret}}}}, "apps[0].key"},
		{"bad signaling config", server.Options{Config: testConfig(), Signaling: &badSignaling}, "PingInterval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, err := server.New(tt.opts)
			if err == nil || srv != nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, %v; want an error mentioning %q", srv, err, tt.want)
			}
		})
	}
}

func TestShutdown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, server.Options{})
	c := e.dial("alice")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	select {
	case <-c.done:
	case <-time.After(wait):
		t.Fatal("socket still open after Shutdown")
	}
	if code := websocket.CloseStatus(c.err); code != websocket.StatusGoingAway {
		t.Fatalf("closed with %d (%v), want 1001", code, c.err)
	}
	// The peer is gone, and no new socket is accepted.
	if _, body := e.get("/v1/apps/" + key + "/peers"); strings.TrimSpace(body) != "[]" {
		t.Fatalf("peers after Shutdown = %s", body)
	}
	u := "ws" + strings.TrimPrefix(e.http.URL, "http") + signaling.Path + "?key=" + key
	conn, resp, err := websocket.Dial(ctx, u, nil)
	if err == nil {
		conn.CloseNow()
		t.Fatal("a socket was accepted after Shutdown")
	}
	if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial after Shutdown: %v, want 503", err)
	}
}
