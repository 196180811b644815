package static_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/skywasm/skywasm/server/static"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	devKey = "0f6a7c3e-1d2b-4c5a-9e8f-112233445566"
	wait   = 5 * time.Second
)

// The bytes of a project root: the SDK's directory with the files around
// it that must not be served, and an examples tree. A variant's content is
// only told apart from its original's by the test, not decoded.
var files = map[string]string{
	"js/skywasm.js":       "globalThis.Peer = class Peer {};\n" + strings.Repeat("// padding\n", 20),
	"js/skywasm.js.gz":    "GZ(skywasm.js)",
	"js/skywasm.mjs":      "export class Peer {}\n",
	"js/index.d.ts":       "export declare class Peer {}\n",
	"js/wasm_exec.js":     "\"use strict\";\n",
	"js/sdk.wasm":         "\x00asm\x01\x00\x00\x00" + strings.Repeat("\x00", 1000),
	"js/sdk.wasm.br":      "BR(sdk.wasm)",
	"js/sdk.wasm.gz":      "GZ(sdk.wasm)",
	"js/skywasm.test.js":  "test('x', () => {});\n",
	"js/package.json":     "{}\n",
	"js/tsconfig.json":    "{}\n",
	"js/.eslintrc.json":   "{}\n",
	"js/sub/skywasm.js":   "nested\n",
	"examples/index.html": "<!doctype html><title>examples</title>\n",
	"examples/app.js":     "console.log('app');\n",
	"examples/style.css":  "body { margin: 0 }\n",
	"examples/data.json":  "{\"a\": 1}\n",
	"examples/logo.svg":   "<svg xmlns=\"http://www.w3.org/2000/svg\"/>\n",
	"examples/img.png":    "\x89PNG\r\n\x1a\n",
	"examples/types.d.ts": "export {};\n",
	"examples/blob.bin":   "\x00\x01",
	// A variant no smaller than its original is not worth serving.
	"examples/tiny.js":    "1;\n",
	"examples/tiny.js.gz": "GZ(tiny.js) that is longer than tiny.js",
	// A variant older than its original (set in writeTree) is stale.
	"examples/stale.js":             "console.log('new version');\n",
	"examples/stale.js.br":          "BR(old)",
	"examples/p2p-media/index.html": "<!doctype html><title>p2p-media</title>\n",
	"examples/p2p-media/script.js":  "// script\n",
	"examples/empty-dir/notes.txt":  "not an index\n",
	"examples/_shared/key.js":       "window.__SKYWAY_KEY__ = \"from disk\";\n",
	"examples/.env":                 "SECRET=1\n",
	"examples/.git/config":          "[core]\n",
	"secret.txt":                    "outside the trees\n",
}

// writeTree writes files under a new directory and returns it.
func writeTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	// Written in any order, the files get their times set: the variants a
	// second after their originals, but the stale one an hour before.
	base := time.Now().Add(-time.Minute).Truncate(time.Second)
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		writeFile(t, path, content)
		mod := base
		switch {
		case name == "examples/stale.js.br":
			mod = base.Add(-time.Hour)
		case strings.HasSuffix(name, ".br"), strings.HasSuffix(name, ".gz"):
			mod = base.Add(time.Second)
		}
		if err := os.Chtimes(path, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// env is a Handler over a written tree, mounted as the server mounts it,
// behind a real HTTP server.
type env struct {
	t      *testing.T
	dir    string
	h      *static.Handler
	http   *httptest.Server
	client *http.Client
}

func newEnv(t *testing.T, devKey string) *env {
	t.Helper()
	dir := writeTree(t)
	h := static.New(static.Config{
		SDK:      os.DirFS(filepath.Join(dir, "js")),
		Examples: os.DirFS(filepath.Join(dir, "examples")),
		DevKey:   devKey,
	})
	mux := http.NewServeMux()
	mux.Handle("GET "+static.SDKPath, h)
	mux.Handle("GET "+static.ExamplesPath, h)
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	client := hs.Client()
	// The bytes as sent: no transparent gzip, no redirects followed.
	client.Transport.(*http.Transport).DisableCompression = true
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &env{t: t, dir: dir, h: h, http: hs, client: client}
}

// do sends a request for path with the given header lines ("Name: value")
// and returns the response with its body read.
func (e *env) do(method, path string, header ...string) (*http.Response, string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, e.http.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, h := range header {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Add(k, v)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, string(body)
}

func (e *env) get(path string, header ...string) (*http.Response, string) {
	e.t.Helper()
	return e.do(http.MethodGet, path, header...)
}

func TestPaths(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	tests := []struct {
		path     string
		status   int
		body     string // for 200: the file of that name under e.dir
		location string
	}{
		// The SDK: its five files, and nothing else in js/.
		{"/sdk/skywasm.js", 200, "js/skywasm.js", ""},
		{"/sdk/skywasm.mjs", 200, "js/skywasm.mjs", ""},
		{"/sdk/index.d.ts", 200, "js/index.d.ts", ""},
		{"/sdk/wasm_exec.js", 200, "js/wasm_exec.js", ""},
		{"/sdk/sdk.wasm", 200, "js/sdk.wasm", ""},
		{"/sdk/skywasm.test.js", 404, "", ""},
		{"/sdk/package.json", 404, "", ""},
		{"/sdk/tsconfig.json", 404, "", ""},
		{"/sdk/.eslintrc.json", 404, "", ""},
		{"/sdk/sdk.wasm.br", 404, "", ""},
		{"/sdk/sdk.wasm.gz", 404, "", ""},
		{"/sdk/sub/skywasm.js", 404, "", ""},
		{"/sdk/", 404, "", ""},
		{"/sdk/missing.js", 404, "", ""},
		// The examples: a tree with index pages and no listings.
		{"/examples/", 200, "examples/index.html", ""},
		{"/examples/index.html", 200, "examples/index.html", ""},
		{"/examples/app.js", 200, "examples/app.js", ""},
		{"/examples/p2p-media/", 200, "examples/p2p-media/index.html", ""},
		{"/examples/p2p-media/script.js", 200, "examples/p2p-media/script.js", ""},
		{"/examples/p2p-media", 301, "", "/examples/p2p-media/"},
		{"/examples/p2p-media?x=1", 301, "", "/examples/p2p-media/?x=1"},
		{"/examples/empty-dir", 404, "", ""},
		{"/examples/empty-dir/", 404, "", ""},
		{"/examples/empty-dir/notes.txt", 200, "examples/empty-dir/notes.txt", ""},
		{"/examples/app.js/", 404, "", ""},
		{"/examples/_shared/key.js", 200, "examples/_shared/key.js", ""}, // not dev mode: the file on disk
		{"/examples/.env", 404, "", ""},
		{"/examples/.git/config", 404, "", ""},
		{"/examples/.git/", 404, "", ""},
		{"/examples/tiny.js.gz", 404, "", ""},
		{"/examples/missing.html", 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			resp, body := e.get(tt.path)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.status == 200 {
				if want := files[tt.body]; body != want {
					t.Errorf("body %q, want %q", body, want)
				}
				if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
					t.Errorf("Cache-Control %q, want no-cache", cc)
				}
				// The SDK is for pages of any origin; the examples are not.
				wantCORS := ""
				if strings.HasPrefix(tt.path, static.SDKPath) {
					wantCORS = "*"
				}
				if got := resp.Header.Get("Access-Control-Allow-Origin"); got != wantCORS {
					t.Errorf("Access-Control-Allow-Origin %q, want %q", got, wantCORS)
				}
			}
			if loc := resp.Header.Get("Location"); loc != tt.location {
				t.Errorf("Location %q, want %q", loc, tt.location)
			}
		})
	}
}

func TestContentTypes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	tests := []struct{ path, want string }{
		{"/sdk/sdk.wasm", "application/wasm"},
		{"/sdk/skywasm.js", "text/javascript; charset=utf-8"},
		{"/sdk/skywasm.mjs", "text/javascript; charset=utf-8"},
		{"/sdk/wasm_exec.js", "text/javascript; charset=utf-8"},
		{"/sdk/index.d.ts", "text/plain; charset=utf-8"},
		{"/examples/", "text/html; charset=utf-8"},
		{"/examples/style.css", "text/css; charset=utf-8"},
		{"/examples/data.json", "application/json"},
		{"/examples/logo.svg", "image/svg+xml"},
		{"/examples/img.png", "image/png"},
		{"/examples/types.d.ts", "text/plain; charset=utf-8"},
		{"/examples/blob.bin", "application/octet-stream"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			// The variants keep their original's type.
			for _, ae := range []string{"", "gzip", "br"} {
				resp, _ := e.get(tt.path, "Accept-Encoding: "+ae)
				if got := resp.Header.Get("Content-Type"); got != tt.want {
					t.Errorf("Accept-Encoding %q: Content-Type %q, want %q", ae, got, tt.want)
				}
				if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
					t.Errorf("X-Content-Type-Options %q, want nosniff", got)
				}
			}
		})
	}
}

func TestEncodingNegotiation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	tests := []struct {
		name, path string
		accept     []string // Accept-Encoding lines; nil sends none
		status     int
		encoding   string // Content-Encoding; the body is the file with its suffix
		vary       bool
	}{
		{"no header", "/sdk/sdk.wasm", nil, 200, "", true},
		{"browser", "/sdk/sdk.wasm", []string{"gzip, deflate, br, zstd"}, 200, "br", true},
		{"gzip only", "/sdk/sdk.wasm", []string{"gzip"}, 200, "gzip", true},
		{"x-gzip", "/sdk/sdk.wasm", []string{"x-gzip"}, 200, "gzip", true},
		{"br refused", "/sdk/sdk.wasm", []string{"br;q=0, gzip"}, 200, "gzip", true},
		{"gzip preferred", "/sdk/sdk.wasm", []string{"br;q=0.5, gzip"}, 200, "gzip", true},
		{"both refused", "/sdk/sdk.wasm", []string{"br;q=0, gzip;q=0"}, 200, "", true},
		{"identity preferred", "/sdk/sdk.wasm", []string{"identity, br;q=0.1"}, 200, "", true},
		{"empty header", "/sdk/sdk.wasm", []string{""}, 200, "", true},
		{"star", "/sdk/sdk.wasm", []string{"*"}, 200, "br", true},
		{"star but br", "/sdk/sdk.wasm", []string{"*, br;q=0"}, 200, "gzip", true},
		{"two lines", "/sdk/sdk.wasm", []string{"gzip", "br"}, 200, "br", true},
		{"unreadable", "/sdk/sdk.wasm", []string{"br;q=high"}, 200, "", true},
		{"beyond the limits", "/sdk/sdk.wasm", []string{strings.Repeat("br, ", 200)}, 200, "", true},
		{"identity refused, br there", "/sdk/sdk.wasm", []string{"br, identity;q=0"}, 200, "br", true},
		{"all refused", "/sdk/sdk.wasm", []string{"*;q=0"}, 406, "", true},
		{"gzip variant only", "/sdk/skywasm.js", []string{"br, gzip"}, 200, "gzip", true},
		{"gzip variant, br wanted", "/sdk/skywasm.js", []string{"br"}, 200, "", true},
		{"no variants", "/sdk/skywasm.mjs", []string{"br, gzip"}, 200, "", false},
		{"no variants, identity refused", "/sdk/skywasm.mjs", []string{"br, identity;q=0"}, 406, "", false},
		{"variant not smaller", "/examples/tiny.js", []string{"gzip"}, 200, "", false},
		{"variant stale", "/examples/stale.js", []string{"br"}, 200, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var header []string
			for _, l := range tt.accept {
				header = append(header, "Accept-Encoding: "+l)
			}
			resp, body := e.get(tt.path, header...)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if got := resp.Header.Get("Content-Encoding"); got != tt.encoding {
				t.Errorf("Content-Encoding %q, want %q", got, tt.encoding)
			}
			if got := resp.Header.Get("Vary"); (got == "Accept-Encoding") != tt.vary {
				t.Errorf("Vary %q, want Accept-Encoding: %v", got, tt.vary)
			}
			if tt.status != 200 {
				return
			}
			name := "js/" + strings.TrimPrefix(tt.path, "/sdk/")
			if strings.HasPrefix(tt.path, "/examples/") {
				name = strings.TrimPrefix(tt.path, "/")
			}
			switch tt.encoding {
			case "br":
				name += ".br"
			case "gzip":
				name += ".gz"
			}
			if body != files[name] {
				t.Errorf("body %q, want %s: %q", body, name, files[name])
			}
			if got, want := resp.ContentLength, int64(len(files[name])); got != want {
				t.Errorf("Content-Length %d, want %d", got, want)
			}
		})
	}
}

// TestRangeOfVariant checks that a range is of the bytes sent, the variant.
func TestRangeOfVariant(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	resp, body := e.get("/sdk/sdk.wasm", "Accept-Encoding: br", "Range: bytes=0-2")
	if resp.StatusCode != http.StatusPartialContent || body != files["js/sdk.wasm.br"][:3] ||
		resp.Header.Get("Content-Encoding") != "br" || resp.ContentLength != 3 {
		t.Fatalf("range = %d %q, Content-Encoding %q, Content-Length %d; want 206 %q br 3",
			resp.StatusCode, body, resp.Header.Get("Content-Encoding"), resp.ContentLength, files["js/sdk.wasm.br"][:3])
	}
}

func TestHead(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	for _, ae := range []string{"identity", "br"} {
		resp, body := e.do(http.MethodHead, "/sdk/sdk.wasm", "Accept-Encoding: "+ae)
		want := files["js/sdk.wasm"]
		if ae == "br" {
			want = files["js/sdk.wasm.br"]
		}
		if resp.StatusCode != 200 || body != "" || resp.ContentLength != int64(len(want)) {
			t.Errorf("HEAD with %s = %d, body %q, Content-Length %d; want 200, none, %d; %v",
				ae, resp.StatusCode, body, resp.ContentLength, len(want), resp.Header)
		}
	}
}

func TestETag(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	tags := map[string]string{} // ETag → Accept-Encoding
	for _, ae := range []string{"identity", "gzip", "br"} {
		resp, _ := e.get("/sdk/sdk.wasm", "Accept-Encoding: "+ae)
		etag := resp.Header.Get("ETag")
		if len(etag) < 10 || etag[0] != '"' || etag[len(etag)-1] != '"' {
			t.Fatalf("%s: ETag %q is not a strong entity tag", ae, etag)
		}
		if other, ok := tags[etag]; ok {
			t.Fatalf("%s and %s have the same ETag %s", ae, other, etag)
		}
		tags[etag] = ae

		// Revalidation: 304 for the tag of what would be sent, with the
		// headers a cache needs, and 200 for any other tag.
		resp, body := e.get("/sdk/sdk.wasm", "Accept-Encoding: "+ae, "If-None-Match: "+etag)
		if resp.StatusCode != http.StatusNotModified || body != "" {
			t.Errorf("%s: If-None-Match its own ETag = %d %q, want 304", ae, resp.StatusCode, body)
		}
		if resp.Header.Get("ETag") != etag || resp.Header.Get("Vary") != "Accept-Encoding" ||
			resp.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("%s: 304 headers %v", ae, resp.Header)
		}
		resp, _ = e.get("/sdk/sdk.wasm", "Accept-Encoding: "+ae, `If-None-Match: "other", W/"other"`)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: If-None-Match another ETag = %d, want 200", ae, resp.StatusCode)
		}
	}
	// The same bytes elsewhere have the same tag: it is the content's.
	a, _ := e.get("/examples/p2p-media/script.js")
	b, _ := e.get("/examples/p2p-media/script.js")
	if a.Header.Get("ETag") != b.Header.Get("ETag") {
		t.Errorf("two requests for one file: ETags %q and %q", a.Header.Get("ETag"), b.Header.Get("ETag"))
	}
}

// TestETagFollowsChanges rewrites a file under the running server, as a
// dev rebuild does.
func TestETagFollowsChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	path := filepath.Join(e.dir, "js", "skywasm.mjs")
	etag := func() string {
		t.Helper()
		resp, body := e.get("/sdk/skywasm.mjs")
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		return resp.Header.Get("ETag") + " " + body
	}
	setTime := func(mod time.Time) {
		t.Helper()
		if err := os.Chtimes(path, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	mod := time.Now().Add(-2 * time.Minute).Truncate(time.Second)
	setTime(mod)
	first := etag()

	// New bytes of the same size with the same time: the cached tag stays,
	// which shows that it is cached (and why the time must change).
	writeFile(t, path, strings.ToUpper(files["js/skywasm.mjs"]))
	setTime(mod)
	if got := etag(); strings.Fields(got)[0] != strings.Fields(first)[0] {
		t.Errorf("ETag recomputed without a change of size or time: %s, then %s", first, got)
	}

	// A new time: hashed again.
	setTime(mod.Add(time.Second))
	second := etag()
	if strings.Fields(second)[0] == strings.Fields(first)[0] {
		t.Errorf("ETag unchanged after the file changed: %s", second)
	}

	// A new size with the same time: hashed again.
	writeFile(t, path, "export class Peer { longer() {} }\n")
	setTime(mod.Add(time.Second))
	if third := etag(); strings.Fields(third)[0] == strings.Fields(second)[0] {
		t.Errorf("ETag unchanged after the file grew: %s", third)
	}
	resp, _ := e.get("/sdk/skywasm.mjs", "If-None-Match: "+strings.Fields(first)[0])
	if resp.StatusCode != http.StatusOK {
		t.Errorf("If-None-Match the old ETag = %d, want 200", resp.StatusCode)
	}
}

// TestVariantFollowsChanges checks that a rebuilt file is not answered with
// its previous version's variant, and is once the variant is rebuilt too.
func TestVariantFollowsChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	dir := filepath.Join(e.dir, "js")
	now := time.Now()
	writeFile(t, filepath.Join(dir, "sdk.wasm"), files["js/sdk.wasm"]+"v2")
	if err := os.Chtimes(filepath.Join(dir, "sdk.wasm"), now, now); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"sdk.wasm.br", "sdk.wasm.gz"} {
		then := now.Add(-time.Second)
		if err := os.Chtimes(filepath.Join(dir, name), then, then); err != nil {
			t.Fatal(err)
		}
	}
	resp, body := e.get("/sdk/sdk.wasm", "Accept-Encoding: br, gzip")
	if resp.Header.Get("Content-Encoding") != "" || body != files["js/sdk.wasm"]+"v2" {
		t.Fatalf("after a rebuild: Content-Encoding %q, body %.20q; want the new file itself",
			resp.Header.Get("Content-Encoding"), body)
	}
	// precompress gives a variant its file's time; the file system's clock
	// could also be behind time.Now.
	writeFile(t, filepath.Join(dir, "sdk.wasm.br"), "BR(v2)")
	if err := os.Chtimes(filepath.Join(dir, "sdk.wasm.br"), now, now); err != nil {
		t.Fatal(err)
	}
	if resp, body = e.get("/sdk/sdk.wasm", "Accept-Encoding: br, gzip"); body != "BR(v2)" {
		t.Fatalf("after precompressing: Content-Encoding %q, body %.20q; want the new br",
			resp.Header.Get("Content-Encoding"), body)
	}
}

// TestConcurrentFirstRequests has many requests find a file's ETag
// uncached at once; they must agree on it.
func TestConcurrentFirstRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	const n = 16
	tags := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.http.URL+"/sdk/sdk.wasm", nil)
			req.Header.Set("Accept-Encoding", []string{"br", "gzip", "identity"}[i%3])
			resp, err := e.client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			tags[i] = resp.Header.Get("ETag")
		})
	}
	wg.Wait()
	for i := 3; i < n; i++ {
		if tags[i] != tags[i%3] {
			t.Errorf("request %d got ETag %q, request %d %q", i, tags[i], i%3, tags[i%3])
		}
	}
}

// TestTraversal sends names that leave the trees straight to the Handler,
// as a server without ServeMux's cleaning would, and through the server.
func TestTraversal(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "")
	paths := []string{
		"/examples/../secret.txt",
		"/examples/../js/package.json",
		"/examples/./index.html",
		"/examples//index.html",
		"/examples/p2p-media/../../secret.txt",
		"/examples/..",
		"/examples/..\\secret.txt",
		"/examples/%2e%2e/secret.txt",
		"/sdk/../secret.txt",
		"/sdk/./sdk.wasm",
		"/sdk//sdk.wasm",
	}
	for _, p := range paths {
		t.Run(p, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, &http.Request{Method: http.MethodGet, URL: &url.URL{Path: p}, Header: http.Header{}})
			if rec.Code != http.StatusNotFound {
				t.Errorf("Handler: %d %q, want 404", rec.Code, rec.Body)
			}
			// Through the server, ServeMux cleans the path and redirects,
			// or refuses it; nothing may come from outside the tree.
			resp, body := e.get(p)
			if resp.StatusCode == http.StatusOK && strings.Contains(body, "outside") {
				t.Errorf("server: %d %q", resp.StatusCode, body)
			}
		})
	}
}

func TestKeyScript(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, key, want, cacheControl string
	}{
		{"dev", devKey, "window.__SKYWAY_KEY__ = \"" + devKey + "\";\n", "no-store"},
		{"not dev", "", files["examples/_shared/key.js"], "no-cache"},
		{"quoted", "</script>\"", "window.__SKYWAY_KEY__ = \"\\u003c/script\\u003e\\\"\";\n", "no-store"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tt.key)
			resp, body := e.get(static.KeyScriptPath)
			if resp.StatusCode != 200 || body != tt.want {
				t.Fatalf("%s = %d %q, want 200 %q", static.KeyScriptPath, resp.StatusCode, body, tt.want)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != tt.cacheControl {
				t.Errorf("Cache-Control %q, want %q", cc, tt.cacheControl)
			}
		})
	}
}

func TestNothingConfigured(t *testing.T) {
	t.Parallel()
	h := static.New(static.Config{DevKey: devKey})
	for _, p := range []string{"/sdk/skywasm.js", "/examples/", static.KeyScriptPath, "/other"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
		want := http.StatusNotFound
		if p == static.KeyScriptPath {
			want = http.StatusOK // the key needs no tree
		}
		if rec.Code != want {
			t.Errorf("%s = %d, want %d", p, rec.Code, want)
		}
	}
}

// BenchmarkRevalidate is a page load with the SDK cached: a 304 for
// sdk.wasm, which costs opening and stating it and its variants, no read.
func BenchmarkRevalidate(b *testing.B) {
	dir := b.TempDir()
	// The file first: a variant must not be older.
	for _, f := range []struct {
		name string
		size int
	}{{"sdk.wasm", 7 << 20}, {"sdk.wasm.br", 1 << 20}, {"sdk.wasm.gz", 2 << 20}} {
		if err := os.WriteFile(filepath.Join(dir, f.name), make([]byte, f.size), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	h := static.New(static.Config{SDK: os.DirFS(dir)})
	req := httptest.NewRequest(http.MethodGet, "/sdk/sdk.wasm", nil)
	req.Header.Set("Accept-Encoding", "gzip, deflate, br, zstd")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Encoding") != "br" {
		b.Fatalf("first request: %d %v", rec.Code, rec.Header())
	}
	req.Header.Set("If-None-Match", rec.Header().Get("ETag"))
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusNotModified {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
