package static_test

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/skywasm/skywasm/server/static"
)

// TestHashedNames: skywasm.js as served names sdk.wasm and wasm_exec.js by
// content-hashed names, which serve their content for good; a stale hash
// is not found; without the marker or the files the shim is served as is.
func TestHashedNames(t *testing.T) {
	t.Parallel()
	mod := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	shim := "const wasmName = /*skywasm:sdk.wasm*/ \"sdk.wasm\";\nconst execName = /*skywasm:wasm_exec.js*/ \"wasm_exec.js\";\n" +
		strings.Repeat("// padding\n", 50)
	fsys := fstest.MapFS{
		"skywasm.js":   {Data: []byte(shim), ModTime: mod},
		"sdk.wasm":     {Data: []byte("\x00asm\x01\x00\x00\x00 module"), ModTime: mod},
		"wasm_exec.js": {Data: []byte("\"use strict\";\n"), ModTime: mod},
	}
	h := static.New(static.Config{SDK: fsys})
	get := func(path string, header ...string) (*http.Response, string) {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		res := rec.Result()
		var body io.Reader = res.Body
		if res.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			body = zr
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		return res, string(b)
	}

	for _, enc := range []string{"", "gzip, br"} {
		t.Run("shim, Accept-Encoding "+enc, func(t *testing.T) {
			res, body := get("/sdk/skywasm.js", "Accept-Encoding", enc)
			if res.StatusCode != 200 || res.Header.Get("Cache-Control") != "no-cache" || res.Header.Get("ETag") == "" {
				t.Fatalf("status %d, Cache-Control %q, ETag %q", res.StatusCode, res.Header.Get("Cache-Control"), res.Header.Get("ETag"))
			}
			wasm := regexp.MustCompile(`/\*skywasm:sdk\.wasm\*/ "(sdk\.[\w-]{16}\.wasm)"`).FindStringSubmatch(body)
			exec := regexp.MustCompile(`/\*skywasm:wasm_exec\.js\*/ "(wasm_exec\.[\w-]{16}\.js)"`).FindStringSubmatch(body)
			if wasm == nil || exec == nil {
				t.Fatalf("the served shim names no hashed files:\n%s", body[:120])
			}
			for _, c := range []struct{ name, want string }{{wasm[1], "\x00asm\x01\x00\x00\x00 module"}, {exec[1], "\"use strict\";\n"}} {
				res, got := get("/sdk/" + c.name)
				if res.StatusCode != 200 || got != c.want {
					t.Errorf("%s: status %d, body %q", c.name, res.StatusCode, got)
				}
				if cc := res.Header.Get("Cache-Control"); cc != static.ImmutableCacheControl {
					t.Errorf("%s: Cache-Control %q", c.name, cc)
				}
			}
			if res, _ := get("/sdk/" + wasm[1]); res.Header.Get("Content-Type") != "application/wasm" {
				t.Errorf("Content-Type %q", res.Header.Get("Content-Type"))
			}
			// Revalidation of the shim answers 304.
			res2, _ := get("/sdk/skywasm.js", "Accept-Encoding", enc, "If-None-Match", res.Header.Get("ETag"))
			if res2.StatusCode != http.StatusNotModified {
				t.Errorf("revalidation: status %d", res2.StatusCode)
			}
		})
	}
	t.Run("stale or malformed hash", func(t *testing.T) {
		for _, p := range []string{"/sdk/sdk.AAAAAAAAAAAAAAAA.wasm", "/sdk/sdk.short.wasm", "/sdk/wasm_exec.AAAAAAAAAAAAAAA!.js"} {
			if res, _ := get(p); res.StatusCode != http.StatusNotFound {
				t.Errorf("%s: status %d, want 404", p, res.StatusCode)
			}
		}
	})
	t.Run("no hashed files: the shim as it is", func(t *testing.T) {
		h := static.New(static.Config{SDK: fstest.MapFS{"skywasm.js": {Data: []byte(shim), ModTime: mod}}})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/sdk/skywasm.js", nil))
		if rec.Code != 200 || rec.Body.String() != shim {
			t.Errorf("status %d, body changed: %q", rec.Code, rec.Body.String()[:80])
		}
	})
}
