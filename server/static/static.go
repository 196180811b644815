// Package static serves skywasm's JavaScript SDK at /sdk/ and its example
// pages at /examples/, with the care files sent to browsers need: exact
// Content-Types, precompressed brotli and gzip variants chosen by the
// request's Accept-Encoding, content-hash ETags and revalidation.
//
// It serves only what it is given and nothing around it: from the SDK
// directory the SDK's own files by name, from the examples tree any file
// but dotfiles, never a directory listing, never a name that leaves its
// tree. It reads files as they are on each request, so a rebuild under a
// running server is served at once, and compresses nothing itself: the
// variants are made at build time (tools/precompress).
package static

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
)

// The paths a Handler answers.
const (
	// SDKPath serves the SDK's files: skywasm.js, skywasm.mjs, index.d.ts,
	// wasm_exec.js and sdk.wasm, to pages of any origin; also sdk.wasm and
	// wasm_exec.js under content-hashed, immutable names
	// (sdk.<hash>.wasm), which the skywasm.js it serves names. Nothing
	// else under it exists.
	SDKPath = "/sdk/"
	// ExamplesPath serves the example pages: a directory's index.html at
	// its path, every other file by its name.
	ExamplesPath = "/examples/"
	// KeyScriptPath is, in dev mode, a script that gives the example pages
	// the dev API key as window.__SKYWAY_KEY__, the global and the file
	// that SkyWay's own examples used, so that pages written for them run
	// unedited.
	KeyScriptPath = ExamplesPath + "_shared/key.js"
)

// Precompressed variants of a file are named by these suffixes
// (sdk.wasm.br, sdk.wasm.gz) and live beside it.
const (
	BrotliSuffix = ".br"
	GzipSuffix   = ".gz"
)

// Current reports whether variant, a precompressed variant of original, is
// up to date: not older than it. A Handler serves a variant only while it
// is current, so that a rebuilt file is never answered with the
// compression of its previous version; precompress rewrites a variant that
// is not.
func Current(original, variant fs.FileInfo) bool {
	return !variant.ModTime().Before(original.ModTime())
}

// Config says what a Handler serves.
type Config struct {
	// SDK is the SDK's directory (the project's js/). nil serves no SDK.
	SDK fs.FS
	// Examples is the examples' tree (the project's examples/). nil serves
	// no examples.
	Examples fs.FS
	// DevKey, if not "", makes KeyScriptPath a script giving this API key,
	// in place of any file of that name. Set it in dev mode only: it hands
	// the key to any page that asks.
	DevKey string
	// Logger receives the errors reading files; nil discards them.
	Logger *slog.Logger
}

// Handler serves the SDK and the examples. Mount it at SDKPath and
// ExamplesPath, for GET; it answers 404 to anything else.
type Handler struct {
	sdk, examples *tree
	keyScript     []byte // nil outside dev mode
	shim          shimCache
	logger        *slog.Logger
}

// tree is one directory served, with the ETags of its files.
type tree struct {
	fsys  fs.FS
	etags etagCache
}

// New returns a Handler serving what cfg says.
func New(cfg Config) *Handler {
	h := &Handler{logger: cfg.Logger}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SDK != nil {
		h.sdk = &tree{fsys: cfg.SDK}
	}
	if cfg.Examples != nil {
		h.examples = &tree{fsys: cfg.Examples}
	}
	if cfg.DevKey != "" {
		// JSON is a JavaScript string literal, and it escapes <, > and &.
		quoted, _ := json.Marshal(cfg.DevKey)
		h.keyScript = []byte("window.__SKYWAY_KEY__ = " + string(quoted) + ";\n")
	}
	return h
}

// ServeHTTP serves the file that r names.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case h.keyScript != nil && p == KeyScriptPath:
		hdr := w.Header()
		hdr.Set("Content-Type", "text/javascript; charset=utf-8")
		hdr.Set("Cache-Control", "no-store") // the key is new on every dev server start
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("Content-Length", strconv.Itoa(len(h.keyScript)))
		_, _ = w.Write(h.keyScript)
	case h.sdk != nil && strings.HasPrefix(p, SDKPath):
		name := p[len(SDKPath):]
		if !isSDKFile(name) && !isHashedSDKFile(name) {
			http.NotFound(w, r)
			return
		}
		// Pages on other origins load the SDK from here, as they loaded
		// SkyWay's from its CDN: a module script, and the script's fetch of
		// sdk.wasm beside it, are CORS requests. The files are public and
		// sent without credentials, so any origin may read them; CORP lets
		// pages that require it (COEP) load them too.
		hdr := w.Header()
		hdr.Set("Access-Control-Allow-Origin", "*")
		hdr.Set("Cross-Origin-Resource-Policy", "cross-origin")
		if file, hash, ok := hashedName(name); ok {
			h.serveHashed(w, r, h.sdk, file, hash)
			return
		}
		if name == shimFile && h.serveShim(w, r, h.sdk) {
			return
		}
		h.serveName(w, r, h.sdk, name)
	case h.examples != nil && strings.HasPrefix(p, ExamplesPath):
		name := p[len(ExamplesPath):]
		if name == "" || strings.HasSuffix(name, "/") {
			name += "index.html"
		}
		h.serveName(w, r, h.examples, name)
	default:
		http.NotFound(w, r)
	}
}

// isSDKFile reports whether name is one of the SDK's files. The directory
// holds its tests and tool configuration too, which are not for serving.
func isSDKFile(name string) bool {
	switch name {
	case "skywasm.js", "skywasm.mjs", "index.d.ts", "wasm_exec.js", "sdk.wasm":
		return true
	}
	return false
}

// servable reports whether name may be served from a tree: a valid
// fs.FS name (no "..", no empty or "." element, no leading or trailing
// slash), no element a dotfile, no backslash (a separator elsewhere), and
// not a precompressed variant, which is served only in place of its
// original.
func servable(name string) bool {
	if !fs.ValidPath(name) || name == "." || strings.ContainsRune(name, '\\') ||
		strings.HasSuffix(name, BrotliSuffix) || strings.HasSuffix(name, GzipSuffix) {
		return false
	}
	for elem := range strings.SplitSeq(name, "/") {
		if elem[0] == '.' {
			return false
		}
	}
	return true
}

// serveName serves the file name of t. An examples directory named
// without its trailing slash is redirected to it when it has an
// index.html, so that the page's relative links resolve; otherwise a
// directory is not found.
func (h *Handler) serveName(w http.ResponseWriter, r *http.Request, t *tree, name string) {
	if !servable(name) {
		http.NotFound(w, r)
		return
	}
	f, st, err := h.open(t, name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	switch {
	case st.Mode().IsRegular():
		h.serveFile(w, r, t, name, representation{f: f, st: st}, "no-cache")
		return
	case st.IsDir() && t == h.examples && !strings.HasSuffix(r.URL.Path, "/"):
		if index, err := fs.Stat(t.fsys, name+"/index.html"); err == nil && index.Mode().IsRegular() {
			to := r.URL.EscapedPath() + "/"
			if r.URL.RawQuery != "" {
				to += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, to, http.StatusMovedPermanently)
			break
		}
		http.NotFound(w, r)
	default:
		http.NotFound(w, r)
	}
	f.Close()
}

// open opens name in t and stats it. A failure is not found to the client
// whatever it was (a missing file, a symlink out of an os.Root, a file
// where a directory was named); one other than a missing file is logged.
func (h *Handler) open(t *tree, name string) (fs.File, fs.FileInfo, error) {
	f, err := t.fsys.Open(name)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			h.logger.Debug("static: cannot open", "name", name, "err", err)
		}
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		h.logger.Warn("static: cannot stat", "name", name, "err", err)
		return nil, nil, err
	}
	return f, st, nil
}

// representation is one of a file's forms: the file itself or one of its
// precompressed variants, open.
type representation struct {
	f  fs.File
	st fs.FileInfo
}

// codings lists the codings by their token and the suffix of their
// variants; identity has no variant.
var codings = [...]struct{ token, suffix string }{
	identity: {"", ""},
	gzip:     {"gzip", GzipSuffix},
	brotli:   {"br", BrotliSuffix},
}

// serveFile serves the regular file name of t, open as orig, or one of its
// variants, and closes them.
func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, t *tree, name string, orig representation, cacheControl string) {
	var reps [len(codings)]representation
	reps[identity] = orig
	for c := gzip; int(c) < len(codings); c++ {
		reps[c] = h.variant(t, name+codings[c].suffix, orig.st)
	}
	defer func() {
		for _, rep := range reps {
			if rep.f != nil {
				rep.f.Close()
			}
		}
	}()

	hdr := w.Header()
	if reps[gzip].f != nil || reps[brotli].f != nil {
		// Caches must tell the representations apart, including for a
		// request that gets identity.
		hdr.Set("Vary", "Accept-Encoding")
	}
	c, ok := parseAcceptEncoding(r.Header.Values("Accept-Encoding")).choose(reps[brotli].f != nil, reps[gzip].f != nil)
	if !ok {
		http.Error(w, "406 not acceptable: the request refuses every content coding this file is available in", http.StatusNotAcceptable)
		return
	}
	rep, repName := reps[c], name+codings[c].suffix
	content, isSeeker := rep.f.(io.ReadSeeker)
	if !isSeeker {
		h.logger.Error("static: file does not seek", "name", repName)
		http.Error(w, "500 internal server error", http.StatusInternalServerError)
		return
	}
	etag, err := t.etags.get(r.Context(), repName, content, rep.st)
	if err != nil {
		if r.Context().Err() == nil {
			h.logger.Error("static: cannot make ETag", "name", repName, "err", err)
			http.Error(w, "500 internal server error", http.StatusInternalServerError)
		}
		return
	}
	hdr.Set("Content-Type", contentType(name))
	hdr.Set("X-Content-Type-Options", "nosniff")
	// A plain name is cached but asked for before each use (no-cache): a
	// rebuilt SDK is picked up at the next load, and an unchanged one
	// costs a 304. A content-hashed name is cached for good.
	hdr.Set("Cache-Control", cacheControl)
	hdr.Set("ETag", etag)
	if c != identity {
		hdr.Set("Content-Encoding", codings[c].token)
		// ServeContent leaves it out when Content-Encoding is set (for
		// handlers that compress on the fly); these bytes are on disk. It
		// replaces it for a range, and drops it for a 304 or an error.
		hdr.Set("Content-Length", strconv.FormatInt(rep.st.Size(), 10))
	}
	http.ServeContent(w, r, repName, rep.st.ModTime(), content)
}

// variant opens name, a precompressed variant of a file with info orig, if
// it is worth serving: a regular file, current, and smaller than orig.
func (h *Handler) variant(t *tree, name string, orig fs.FileInfo) representation {
	f, st, err := h.open(t, name)
	if err != nil {
		return representation{}
	}
	if !st.Mode().IsRegular() || !Current(orig, st) || st.Size() >= orig.Size() {
		f.Close()
		return representation{}
	}
	return representation{f: f, st: st}
}
