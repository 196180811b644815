package server_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/skywasm/skywasm/server"
)

// newTimedEnv serves a server through its own HTTPServer, with timeouts.
func newTimedEnv(t *testing.T, opts server.Options) *httptest.Server {
	t.Helper()
	return serveEnv(t, opts, true).http
}

// TestHTTPIdleTimeout: a keep-alive connection with no second request is
// closed, not held for ever (a file-descriptor exhaustion route).
func TestHTTPIdleTimeout(t *testing.T) {
	t.Parallel()
	timeouts := server.DefaultHTTPTimeouts()
	timeouts.Idle = 300 * time.Millisecond
	hs := newTimedEnv(t, server.Options{HTTP: &timeouts})
	conn, err := net.Dial("tcp", hs.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	if _, err := br.ReadByte(); err == nil || isTimeout(err) {
		t.Fatalf("idle keep-alive connection not closed within %v: %v", wait, err)
	}
	if d := time.Since(start); d > timeouts.Idle+time.Second {
		t.Fatalf("closed after %v, want about %v", d, timeouts.Idle)
	}
}

// TestHTTPSlowReader: a client that stops reading a large file lets go of
// its connection after the write timeout.
func TestHTTPSlowReader(t *testing.T) {
	t.Parallel()
	dir := writeProject(t)
	const size = 32 << 20 // far more than the socket buffers hold
	wasm := filepath.Join(dir, "js", "sdk.wasm")
	if err := os.Remove(wasm); err != nil { // writeProject's symlink
		t.Fatal(err)
	}
	if err := os.WriteFile(wasm, make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
	timeouts := server.DefaultHTTPTimeouts()
	timeouts.Write = 500 * time.Millisecond
	hs := newTimedEnv(t, server.Options{StaticDir: dir, HTTP: &timeouts})
	conn, err := net.Dial("tcp", hs.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /sdk/sdk.wasm HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(timeouts.Write + time.Second) // reading nothing
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	n, err := io.Copy(io.Discard, conn)
	if isTimeout(err) {
		t.Fatalf("connection still open %v after the write timeout", wait)
	}
	if n >= size {
		t.Fatalf("read all %d bytes: the response was not cut", n)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
