package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// writeFile writes content to dir/name with the modification time mod.
func writeFile(t *testing.T, dir, name, content string, mod time.Time) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mod, mod); err != nil {
		t.Fatal(err)
	}
	return path
}

// runOK runs the command with args and fails unless it succeeds.
func runOK(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr); code != exitOK {
		t.Fatalf("precompress %s: exit %d; stderr:\n%s", strings.Join(args, " "), code, &stderr)
	}
	return stdout.String()
}

// decoded returns the content of a variant, decompressed.
func decoded(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader
	switch filepath.Ext(path) {
	case ".gz":
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		r = zr
	case ".br":
		r = brotli.NewReader(f)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return string(b)
}

func TestPrecompress(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mod := time.Now().Add(-time.Hour).Truncate(time.Second)
	content := strings.Repeat("globalThis.Peer = class Peer {};\n", 100)
	js := writeFile(t, dir, "skywasm.js", content, mod)
	empty := writeFile(t, dir, "empty.js", "", mod)

	out := runOK(t, js, empty)
	if !strings.Contains(out, js+": 3300 bytes; gzip ") || !strings.Contains(out, empty+": 0 bytes;") {
		t.Errorf("output:\n%s", out)
	}
	for _, path := range []string{js, empty} {
		for _, suffix := range []string{".gz", ".br"} {
			st, err := os.Stat(path + suffix)
			if err != nil {
				t.Fatal(err)
			}
			orig, _ := os.ReadFile(path)
			if got := decoded(t, path+suffix); got != string(orig) {
				t.Errorf("%s%s decodes to %d bytes, want the file's %d", path, suffix, len(got), len(orig))
			}
			if !st.ModTime().Equal(mod) {
				t.Errorf("%s%s has time %v, want the file's %v", path, suffix, st.ModTime(), mod)
			}
			if st.Mode().Perm() != 0o640 {
				t.Errorf("%s%s has mode %v, want the file's 0640", path, suffix, st.Mode().Perm())
			}
		}
	}
	gz, _ := os.ReadFile(js + ".gz")
	if len(gz) >= len(content)/10 {
		t.Errorf("gzip: %d bytes of %d; not compressed hard", len(gz), len(content))
	}

	// Current variants are left alone: replaced by a marker with the same
	// time, they stay the marker.
	writeFile(t, dir, "skywasm.js.br", "marker", mod)
	if out := runOK(t, js); strings.Count(out, "up to date") != 2 {
		t.Errorf("second run:\n%s", out)
	}
	if b, _ := os.ReadFile(js + ".br"); string(b) != "marker" {
		t.Errorf("a current variant was rewritten")
	}

	// A rebuilt file gets new variants.
	content2 := content + "// v2\n"
	writeFile(t, dir, "skywasm.js", content2, mod.Add(time.Second))
	if out := runOK(t, js); strings.Contains(out, "up to date") {
		t.Errorf("run after a rebuild:\n%s", out)
	}
	for _, suffix := range []string{".gz", ".br"} {
		if got := decoded(t, js+suffix); got != content2 {
			t.Errorf("%s after a rebuild: %d bytes, want %d", suffix, len(got), len(content2))
		}
	}
	// No temporary file is left.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

// TestReproducible checks that the same input gives the same bytes, so
// that a rebuild with no change keeps the server's ETags.
func TestReproducible(t *testing.T) {
	t.Parallel()
	a, b := t.TempDir(), t.TempDir()
	content := strings.Repeat("export class Peer {}\n", 50)
	pa := writeFile(t, a, "skywasm.mjs", content, time.Now().Add(-time.Hour))
	pb := writeFile(t, b, "skywasm.mjs", content, time.Now().Add(-2*time.Hour))
	runOK(t, pa, pb)
	for _, suffix := range []string{".gz", ".br"} {
		x, _ := os.ReadFile(pa + suffix)
		y, _ := os.ReadFile(pb + suffix)
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs on the same bytes", suffix)
		}
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := writeFile(t, dir, "good.js", "1;\n", time.Now().Add(-time.Hour))
	tests := []struct {
		name string
		args []string
		code int
		want string // in stderr
	}{
		{"no files", nil, exitUsage, "Usage: precompress"},
		{"quality too high", []string{"-brotli-quality", "12", good}, exitUsage, "-brotli-quality 12: must be 0 to 11"},
		{"quality negative", []string{"-brotli-quality", "-1", good}, exitUsage, "must be 0 to 11"},
		{"unknown flag", []string{"-level", "3", good}, exitUsage, "flag provided but not defined"},
		{"missing file", []string{filepath.Join(dir, "missing.js"), good}, exitError, "missing.js: no such file"},
		{"directory", []string{dir}, exitError, "not a regular file"},
		{"help", []string{"-h"}, exitOK, "Usage: precompress"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tt.args, &stdout, &stderr); code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, &stderr)
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr does not contain %q:\n%s", tt.want, &stderr)
			}
		})
	}
	// The good file after the missing one was still done.
	if _, err := os.Stat(good + ".br"); err != nil {
		t.Errorf("a failing file stopped the rest: %v", err)
	}
}
