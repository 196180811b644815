package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/skywasm/skywasm/protocol"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	testKey    = "0f6a7c3e-1d2b-4c5a-9e8f-112233445566"
	otherKey   = "7d2c9a10-4b6e-4f3a-8c1d-aabbccddeeff"
	testSecret = "a long random string"
)

var testNow = time.Unix(1700000000, 0)

// syncBuffer is a bytes.Buffer safe for a server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// newCLI returns a cli with env as its whole environment and testNow as its
// clock, writing to the returned buffers.
func newCLI(env map[string]string) (*cli, *syncBuffer, *syncBuffer) {
	var stdout, stderr syncBuffer
	return &cli{
		stdout: &stdout,
		stderr: &stderr,
		getenv: func(k string) string { return env[k] },
		now:    func() time.Time { return testNow },
	}, &stdout, &stderr
}

// writeConfig writes a config with the given apps' keys and returns its path.
func writeConfig(t *testing.T, keys ...string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("addr: 127.0.0.1:0\napps:\n")
	for _, k := range keys {
		b.WriteString("  - key: " + k + "\n    secret: " + testSecret + "\n")
	}
	path := filepath.Join(t.TempDir(), "skywasm.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCredential(t *testing.T) {
	t.Parallel()
	oneApp := writeConfig(t, testKey)
	twoApps := writeConfig(t, otherKey, testKey)
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantTTL int64
	}{
		{"secret", nil, []string{"-secret", testSecret, "-peer", "alice", "-ttl", "600"}, 600},
		{"default ttl", nil, []string{"-secret", testSecret, "-peer", "alice"}, 3600},
		{"secret beats config", map[string]string{"SKYWASM_CONFIG": "/nonexistent"}, []string{"-secret", testSecret, "-peer", "alice"}, 3600},
		{"config and key", nil, []string{"-config", twoApps, "-key", testKey, "-peer", "alice", "-ttl", "90000"}, 90000},
		{"config with one app", nil, []string{"-config", oneApp, "-peer", "alice"}, 3600},
		{"config from env", map[string]string{"SKYWASM_CONFIG": twoApps}, []string{"-key", testKey, "-peer", "alice"}, 3600},
		{"flag beats env", map[string]string{"SKYWASM_CONFIG": "/nonexistent"}, []string{"-config", oneApp, "-peer", "alice"}, 3600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cl, stdout, stderr := newCLI(tt.env)
			if code := cl.run(context.Background(), append([]string{"credential"}, tt.args...)); code != exitOK {
				t.Fatalf("exit code %d, stderr:\n%s", code, stderr)
			}
			lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
			if len(lines) != 2 {
				t.Fatalf("stdout has %d lines, want 2:\n%s", len(lines), stdout)
			}
			var c protocol.Credential
			dec := json.NewDecoder(strings.NewReader(lines[0]))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&c); err != nil {
				t.Fatalf("line 1 %q: %v", lines[0], err)
			}
			if c.Timestamp != testNow.Unix() || c.TTL != tt.wantTTL {
				t.Errorf("credential = %+v, want timestamp %d, ttl %d", c, testNow.Unix(), tt.wantTTL)
			}
			if err := c.Verify(testSecret, "alice", testNow.Add(time.Minute)); err != nil {
				t.Errorf("Verify: %v", err)
			}
			if got, err := url.QueryUnescape(lines[1]); err != nil || got != lines[0] {
				t.Errorf("line 2 %q unescapes to %q, %v; want line 1", lines[1], got, err)
			}
			if strings.ContainsAny(lines[1], `{}":+/=`) {
				t.Errorf("line 2 %q is not URL-encoded", lines[1])
			}
			if stderr.String() != "" {
				t.Errorf("stderr = %q, want nothing", stderr)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	twoApps := writeConfig(t, otherKey, testKey)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string // in stderr
	}{
		{"unknown command", nil, []string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{"unknown flag", nil, []string{"serve", "-port", "80"}, exitUsage, "flag provided but not defined: -port"},
		{"unknown flag, no command", nil, []string{"-port", "80"}, exitUsage, "flag provided but not defined: -port"},
		{"extra argument", nil, []string{"serve", "now"}, exitUsage, `unexpected argument "now"`},
		{"bad log level", nil, []string{"serve", "-log-level", "loud"}, exitUsage, "want debug, info, warn or error"},
		{"bad log level in env", map[string]string{"SKYWASM_LOG_LEVEL": "loud"}, []string{"serve"}, exitUsage, `invalid value "loud" for SKYWASM_LOG_LEVEL`},
		{"missing config", nil, []string{"serve", "-config", "/nonexistent.yaml", "-addr", "127.0.0.1:0"}, exitError, "failed to read config"},
		{"bad addr", nil, []string{"serve", "-addr", "127.0.0.1:99999"}, exitError, "failed to listen"},
		{"bad sfu-public", nil, []string{"serve", "-addr", "127.0.0.1:0", "-sfu-public", "1.2.3.4,nat"}, exitError, `PublicAddrs: "nat" is not an IP address`},
		{"bad sfu-udp", nil, []string{"serve", "-addr", "127.0.0.1:0", "-sfu-udp", "127.0.0.1"}, exitError, "UDPAddr"},
		{"version with argument", nil, []string{"version", "-v"}, exitUsage, "version takes no arguments"},
		{"help for unknown", nil, []string{"help", "frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{"credential without peer", nil, []string{"credential", "-secret", testSecret}, exitUsage, "-peer is required"},
		{"credential ttl too small", nil, []string{"credential", "-secret", testSecret, "-peer", "a", "-ttl", "599"}, exitUsage, "-ttl 599: must be 600 to 90000 seconds"},
		{"credential ttl too large", nil, []string{"credential", "-secret", testSecret, "-peer", "a", "-ttl", "90001"}, exitUsage, "-ttl 90001"},
		{"credential ttl not a number", nil, []string{"credential", "-secret", testSecret, "-peer", "a", "-ttl", "1h"}, exitUsage, `invalid value "1h" for flag -ttl`},
		{"credential bad key", nil, []string{"credential", "-secret", testSecret, "-peer", "a", "-key", "ABC"}, exitUsage, `-key "ABC": not an API key`},
		{"credential without secret", nil, []string{"credential", "-peer", "a"}, exitUsage, "give -secret, or -config"},
		{"credential unknown key", nil, []string{"credential", "-config", twoApps, "-key", "00000000-0000-4000-8000-000000000000", "-peer", "a"}, exitError, "no app with key 00000000-0000-4000-8000-000000000000"},
		{"credential ambiguous config", nil, []string{"credential", "-config", twoApps, "-peer", "a"}, exitError, "-key is required: the config has 2 apps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cl, stdout, stderr := newCLI(tt.env)
			if code := cl.run(context.Background(), tt.args); code != tt.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tt.code, stderr)
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr does not contain %q:\n%s", tt.want, stderr)
			}
			if stdout.String() != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args       []string
		wantStdout string
		wantStderr string
	}{
		{[]string{"help"}, "Usage: skywasm <command>", ""},
		{[]string{"-h"}, "Usage: skywasm <command>", ""},
		{[]string{"--help"}, "Usage: skywasm <command>", ""},
		{[]string{"-addr", "x:1", "-h"}, "", "Usage: skywasm serve"},
		{[]string{"help", "serve"}, "SKYWASM_LOG_LEVEL", ""},
		{[]string{"help", "credential"}, "-peer ID", ""},
		{[]string{"serve", "-h"}, "", "(env SKYWASM_ADDR)"},
		{[]string{"credential", "-help"}, "", "Usage: skywasm credential"},
		{[]string{"version"}, "skywasm ", ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			cl, stdout, stderr := newCLI(nil)
			if code := cl.run(context.Background(), tt.args); code != exitOK {
				t.Errorf("exit code %d, want 0; stderr:\n%s", code, stderr)
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) {
				t.Errorf("stdout does not contain %q:\n%s", tt.wantStdout, stdout)
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr does not contain %q:\n%s", tt.wantStderr, stderr)
			}
		})
	}
}

func TestServeFlags(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"SKYWASM_ADDR":       "env:1",
		"SKYWASM_CONFIG":     "env.yaml",
		"SKYWASM_STATIC":     "envdir",
		"SKYWASM_LOG_LEVEL":  "WARN",
		"SKYWASM_SFU_UDP":    "env:3",
		"SKYWASM_SFU_PUBLIC": "192.0.2.1",
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want serveOptions
	}{
		{"defaults", nil, nil, serveOptions{static: ".", level: levelFlag{slog.LevelInfo}}},
		{"flags", nil, []string{"-addr", "flag:2", "-config", "flag.yaml", "-static", "", "-log-level", "debug", "-sfu-udp", "flag:4", "-sfu-public", "192.0.2.2,2001:db8::1"},
			serveOptions{addr: "flag:2", config: "flag.yaml", static: "", level: levelFlag{slog.LevelDebug}, sfuUDP: "flag:4", sfuPublic: "192.0.2.2,2001:db8::1"}},
		{"env", env, nil, serveOptions{addr: "env:1", config: "env.yaml", static: "envdir", level: levelFlag{slog.LevelWarn}, sfuUDP: "env:3", sfuPublic: "192.0.2.1"}},
		{"flags beat env", env, []string{"-addr", "flag:2", "-log-level", "error", "-sfu-udp", "flag:4"},
			serveOptions{addr: "flag:2", config: "env.yaml", static: "envdir", level: levelFlag{slog.LevelError}, sfuUDP: "flag:4", sfuPublic: "192.0.2.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cl, _, stderr := newCLI(tt.env)
			fs, o := cl.serveFlags()
			if err := fs.parse(cl.getenv, tt.args); err != nil {
				t.Fatalf("parse: %v; stderr:\n%s", err, stderr)
			}
			if *o != tt.want {
				t.Errorf("options = %+v, want %+v", *o, tt.want)
			}
		})
	}
}

func TestListenURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr, actual, want string
	}{
		{"rtc.example.test:443 ", "192.0.2.1:443", "https://rtc.example.test:443/"},
		{"localhost:8080", "127.0.0.1:8080", "http://localhost:8080/"},
		{"127.0.0.1:0", "127.0.0.1:43210", "http://127.0.0.1:43210/"},
		{":8080", "[::]:8080", "http://localhost:8080/"},
		{"0.0.0.0:80", "0.0.0.0:80", "http://localhost:80/"},
		{"[::1]:8080", "[::1]:8080", "http://[::1]:8080/"},
		{"example.test:443", "192.0.2.1:443", "http://example.test:443/"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			t.Parallel()
			addr, secure := strings.CutSuffix(tt.addr, " ") // a trailing space marks TLS
			if got := listenURL(addr, fakeAddr(tt.actual), secure); got != tt.want {
				t.Errorf("listenURL(%q, %q) = %q, want %q", tt.addr, tt.actual, got, tt.want)
			}
		})
	}
}

func TestSFUAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		flag, addr, actual, want string
	}{
		{"", "localhost:8080", "127.0.0.1:8080", "localhost:8080"},
		{"", "127.0.0.1:0", "127.0.0.1:43210", "127.0.0.1:43210"},
		{"", ":8080", "[::]:8080", ":8080"},
		{"", "[::1]:0", "[::1]:43210", "[::1]:43210"},
		{"10.0.0.1:3478", "127.0.0.1:0", "127.0.0.1:43210", "10.0.0.1:3478"},
	}
	for _, tt := range tests {
		t.Run(tt.flag+" "+tt.addr, func(t *testing.T) {
			t.Parallel()
			if got := sfuAddr(tt.flag, tt.addr, fakeAddr(tt.actual)); got != tt.want {
				t.Errorf("sfuAddr(%q, %q, %q) = %q, want %q", tt.flag, tt.addr, tt.actual, got, tt.want)
			}
		})
	}
}

type fakeAddr string

func (a fakeAddr) Network() string { return "tcp" }
func (a fakeAddr) String() string  { return string(a) }

// startServe runs serve with args in the background and returns its URL
// and a channel for its exit code.
func startServe(ctx context.Context, t *testing.T, args ...string) (string, *syncBuffer, <-chan int) {
	t.Helper()
	cl, stdout, stderr := newCLI(nil)
	ready := make(chan string, 1)
	cl.ready = func(url string) { ready <- url }
	exit := make(chan int, 1)
	go func() { exit <- cl.run(ctx, append([]string{"serve"}, args...)) }()
	select {
	case u := <-ready:
		return u, stdout, exit
	case code := <-exit:
		t.Fatalf("serve exited with %d before listening; stderr:\n%s", code, stderr)
	case <-time.After(10 * time.Second):
		t.Fatalf("serve did not start in 10 s; stderr:\n%s", stderr)
	}
	return "", nil, nil
}

// get fetches u without keeping connections (or goroutines) around, and
// returns the status and body.
func get(t *testing.T, u string) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return resp.StatusCode, string(body)
}

// waitExit waits for serve's exit code, which must be 0 within 5 s.
func waitExit(t *testing.T, exit <-chan int) {
	t.Helper()
	select {
	case code := <-exit:
		if code != exitOK {
			t.Errorf("exit code %d, want 0", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not exit within 5 s")
	}
}

// The serve tests are not parallel: they install signal handlers.

func TestServeDev(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	u, stdout, exit := startServe(ctx, t, "-addr", "127.0.0.1:0", "-static", "")
	if !strings.HasPrefix(u, "http://127.0.0.1:") || strings.HasSuffix(u, ":0/") {
		t.Errorf("URL = %q, want http://127.0.0.1:<port>/", u)
	}
	get(t, u)
	// The SFU runs, its UDP socket on the HTTP port's number.
	if code, body := get(t, u+"metrics"); code != http.StatusOK || !strings.Contains(body, "skywasm_sfu_participants 0") {
		t.Errorf("/metrics: %d, no SFU gauge:\n%.300s", code, body)
	}
	_, port, _ := net.SplitHostPort(strings.TrimSuffix(strings.TrimPrefix(u, "http://"), "/"))
	if c, err := net.ListenPacket("udp4", "127.0.0.1:"+port); err == nil {
		c.Close()
		t.Errorf("UDP port %s is free: the SFU is not on it", port)
	}
	cancel()
	waitExit(t, exit)
	out := stdout.String()
	if !strings.Contains(out, "skywasm: listening on "+u+"\n") {
		t.Errorf("stdout does not give the URL:\n%s", out)
	}
	i := strings.Index(out, "dev mode — API key ")
	if i < 0 {
		t.Fatalf("stdout does not give the dev API key:\n%s", out)
	}
	if key, _, _ := strings.Cut(out[i+len("dev mode — API key "):], ";"); len(key) != 36 {
		t.Errorf("dev API key %q is not a UUID", key)
	}
}

// TestServeStatic serves a project root in dev mode: the URL printed leads
// to the examples, and their key script gives the key printed.
func TestServeStatic(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"js/skywasm.js":       "globalThis.Peer = class Peer {};\n",
		"js/package.json":     "{}\n",
		"examples/index.html": "<!doctype html><title>examples</title>\n",
	} {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	u, stdout, exit := startServe(ctx, t, "-addr", "127.0.0.1:0", "-static", dir, "-log-level", "error")
	i := strings.Index(stdout.String(), "dev mode — API key ")
	if i < 0 {
		t.Fatalf("stdout does not give the dev API key:\n%s", stdout)
	}
	key, open, _ := strings.Cut(stdout.String()[i+len("dev mode — API key "):], "; open ")
	if want := u + "examples/\n"; open != want {
		t.Errorf("open %q, want %q", open, want)
	}
	tests := []struct {
		path   string
		status int
		body   string
	}{
		{"sdk/skywasm.js", http.StatusOK, "globalThis.Peer = class Peer {};\n"},
		{"sdk/package.json", http.StatusNotFound, "404 page not found\n"},
		{"examples/", http.StatusOK, "<!doctype html><title>examples</title>\n"},
		{"examples/_shared/key.js", http.StatusOK, "window.__SKYWAY_KEY__ = \"" + key + "\";\n"},
	}
	for _, tt := range tests {
		if status, body := get(t, u+tt.path); status != tt.status || body != tt.body {
			t.Errorf("/%s = %d %q, want %d %q", tt.path, status, body, tt.status, tt.body)
		}
	}
	cancel()
	waitExit(t, exit)
}

func TestServeConfigSignal(t *testing.T) {
	path := writeConfig(t, testKey)
	u, stdout, exit := startServe(context.Background(), t, "-config", path, "-log-level", "error")
	get(t, u)
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitExit(t, exit)
	if strings.Contains(stdout.String(), "dev mode") {
		t.Errorf("stdout mentions dev mode with a config:\n%s", stdout)
	}
}
