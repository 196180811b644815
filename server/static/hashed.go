package static

import (
	"bytes"
	gz "compress/gzip"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The SDK's files that are also served under a content-hashed name,
// sdk.<hash>.wasm and wasm_exec.<hash>.js, which never changes content and
// so is cached for a year without revalidation: a warm page load asks for
// neither, and Chromium's wasm code cache, which is keyed by URL and
// dropped when a revalidation renews the response, keeps applying. The
// shim learns the names from the copy of skywasm.js the Handler serves,
// in which it writes them (see shimFile).
var hashedFiles = [...]struct{ name, stem, ext string }{
	{"sdk.wasm", "sdk.", ".wasm"},
	{"wasm_exec.js", "wasm_exec.", ".js"},
}

// hashLen is the length of the hash in a hashed name: the first characters
// of the file's ETag (base64url of SHA-256), 96 bits.
const hashLen = 16

// ImmutableCacheControl is the Cache-Control of a content-hashed name.
const ImmutableCacheControl = "public, max-age=31536000, immutable"

// shimFile is the shim in which the Handler writes the hashed names: for
// each hashed file, the string literal after the comment
// /*skywasm:NAME*/ (and one space) becomes "NAME-with-its-hash". Served
// anywhere else, the shim keeps the plain names.
const shimFile = "skywasm.js"

// hashedName returns the name of the file that name, sdk.<hash>.wasm or
// wasm_exec.<hash>.js, is a hashed name of, and the hash; ok is false for
// any other name.
func hashedName(name string) (file, hash string, ok bool) {
	for _, f := range hashedFiles {
		if h, found := strings.CutPrefix(name, f.stem); found {
			if h, found = strings.CutSuffix(h, f.ext); found && len(h) == hashLen && isBase64URL(h) {
				return f.name, h, true
			}
		}
	}
	return "", "", false
}

func isBase64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// fileHash returns the hash that names the current content of name in t,
// from its ETag; ok is false when the file is missing or cannot be hashed.
func (h *Handler) fileHash(ctx context.Context, t *tree, name string) (string, bool) {
	f, st, err := h.open(t, name)
	if err != nil {
		return "", false
	}
	defer f.Close()
	rs, ok := f.(io.ReadSeeker)
	if !ok || !st.Mode().IsRegular() {
		return "", false
	}
	etag, err := t.etags.get(ctx, name, rs, st)
	if err != nil || len(etag) < hashLen+1 {
		return "", false
	}
	return etag[1 : 1+hashLen], true
}

// serveHashed serves file under a hashed name: its content if hash is its
// current one, cached for good; not found otherwise (a shim served before
// a rebuild names the old hash, and falls back to the plain name).
func (h *Handler) serveHashed(w http.ResponseWriter, r *http.Request, t *tree, file, hash string) {
	if current, ok := h.fileHash(r.Context(), t, file); !ok || current != hash {
		http.NotFound(w, r)
		return
	}
	f, st, err := h.open(t, file)
	if err != nil || !st.Mode().IsRegular() {
		if err == nil {
			f.Close()
		}
		http.NotFound(w, r)
		return
	}
	h.serveFile(w, r, t, file, representation{f: f, st: st}, ImmutableCacheControl)
}

// stampedShim is the shim with the hashed names written in, for one
// version of it and of the hashed files.
type stampedShim struct {
	key      string // the shim's size and time, and the hashes
	body, gz []byte
	etag     string // of body; gz's is derived from it
}

// shimCache holds the last stamped shim: it changes only on a rebuild.
type shimCache struct {
	mu   sync.Mutex
	last *stampedShim
}

// serveShim serves the shim with the hashed names written in. It reports
// false, having written nothing, when there is nothing to write (no
// marked literal, or no hashed file present): the caller then serves the
// file as it is.
func (h *Handler) serveShim(w http.ResponseWriter, r *http.Request, t *tree) bool {
	f, st, err := h.open(t, shimFile)
	if err != nil {
		return false
	}
	defer f.Close()
	if !st.Mode().IsRegular() {
		return false
	}
	var hashes [len(hashedFiles)]string
	key := strconv.FormatInt(st.Size(), 10) + "@" + st.ModTime().Format(time.RFC3339Nano)
	anyHash := false
	for i, hf := range hashedFiles {
		if hash, ok := h.fileHash(r.Context(), t, hf.name); ok {
			hashes[i], anyHash = hash, true
		}
		key += "," + hashes[i]
	}
	if !anyHash {
		return false
	}
	h.shim.mu.Lock()
	s := h.shim.last
	h.shim.mu.Unlock()
	if s == nil || s.key != key {
		src, err := io.ReadAll(f)
		if err != nil {
			h.logger.Warn("static: cannot read", "name", shimFile, "err", err)
			return false
		}
		body, changed := stamp(src, hashes)
		if !changed {
			return false
		}
		etag, _ := hashETag(bytes.NewReader(body))
		var zbuf bytes.Buffer
		zw, _ := gz.NewWriterLevel(&zbuf, gz.BestCompression)
		_, _ = zw.Write(body)
		_ = zw.Close()
		s = &stampedShim{key: key, body: body, gz: zbuf.Bytes(), etag: etag}
		h.shim.mu.Lock()
		h.shim.last = s
		h.shim.mu.Unlock()
	}

	hdr := w.Header()
	hdr.Set("Vary", "Accept-Encoding")
	c, ok := parseAcceptEncoding(r.Header.Values("Accept-Encoding")).choose(false, true)
	if !ok {
		http.Error(w, "406 not acceptable: the request refuses every content coding this file is available in", http.StatusNotAcceptable)
		return true
	}
	body, etag := s.body, s.etag
	if c == gzip {
		body, etag = s.gz, strings.TrimSuffix(s.etag, `"`)+`-gz"`
		hdr.Set("Content-Encoding", "gzip")
		hdr.Set("Content-Length", strconv.Itoa(len(body)))
	}
	hdr.Set("Content-Type", contentType(shimFile))
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("ETag", etag)
	http.ServeContent(w, r, shimFile, st.ModTime(), bytes.NewReader(body))
	return true
}

// stamp writes the hashed names into the shim src after their markers;
// changed is false when it found no marker for a present hash.
func stamp(src []byte, hashes [len(hashedFiles)]string) (out []byte, changed bool) {
	out = src
	for i, hf := range hashedFiles {
		if hashes[i] == "" {
			continue
		}
		marker := "/*skywasm:" + hf.name + "*/ "
		at := bytes.Index(out, []byte(marker))
		if at < 0 {
			continue
		}
		lit := at + len(marker)
		plain := strconv.Quote(hf.name)
		if !bytes.HasPrefix(out[lit:], []byte(plain)) {
			continue
		}
		hashed := strconv.Quote(hf.stem + hashes[i] + hf.ext)
		out = append(append(out[:lit:lit], hashed...), out[lit+len(plain):]...)
		changed = true
	}
	return out, changed
}

// isHashedSDKFile reports whether name is a hashed name of an SDK file.
func isHashedSDKFile(name string) bool {
	_, _, ok := hashedName(name)
	return ok
}
