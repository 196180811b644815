package sizes

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skywasm/skywasm/bench"
)

// write creates a file of n bytes that compress about 4:1, like code.
func write(t *testing.T, name string, n int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"func ", "return ", "if err != nil ", "{\n", "}\n", "webrtc.", "Peer", "0x", "\t"}
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[rng.IntN(len(words))])
		b.WriteByte(byte('a' + rng.IntN(26)))
	}
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, b.Bytes()[:n], 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSizes(t *testing.T) {
	dir := t.TempDir()
	wasm, execJS := filepath.Join(dir, "js/sdk.wasm"), filepath.Join(dir, "js/wasm_exec.js")
	peerjs := filepath.Join(dir, "node_modules/peerjs/dist/peerjs.min.js")
	write(t, wasm, 200<<10)
	write(t, execJS, 16<<10)
	write(t, peerjs, 80<<10)
	if err := os.WriteFile(filepath.Join(dir, "node_modules/peerjs/package.json"), []byte(`{"name":"peerjs","version":"9.8.7"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		peerjs    string
		wantOther string // "" for no comparison
	}{
		{"with PeerJS", peerjs, "PeerJS 9.8.7 peerjs.min.js"},
		{"without PeerJS", filepath.Join(dir, "absent/peerjs.min.js"), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "sizes.json")
			var stdout, stderr bytes.Buffer
			args := []string{"-wasm", wasm, "-with", execJS, "-peerjs", c.peerjs, "-json", out}
			if err := Main(context.Background(), args, &stdout, &stderr); err != nil {
				t.Fatalf("%v\n%s", err, stderr.String())
			}
			sec, err := bench.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if sec.Title != "sdk.wasm size" || len(sec.Rows) != 4 {
				t.Fatalf("section %q with %d rows", sec.Title, len(sec.Rows))
			}
			raw, gz, br, page := *sec.Rows[0].Skywasm, *sec.Rows[1].Skywasm, *sec.Rows[2].Skywasm, *sec.Rows[3].Skywasm
			if raw != 200 {
				t.Errorf("raw %v KiB, want 200", raw)
			}
			if !(gz > 0 && gz < raw/2 && br > 0 && br < raw/2) {
				t.Errorf("raw %v, gzip %v, brotli %v KiB: want both compressed under half for this text", raw, gz, br)
			}
			if !(page > br && page < br+16) {
				t.Errorf("the page's SDK %v KiB, want sdk.wasm's %v plus under 16", page, br)
			}
			for _, r := range sec.Rows {
				if r.OtherName != c.wantOther || (r.Other == nil) != (c.wantOther == "") {
					t.Errorf("row %q: other %v %q, want %q", r.Metric, r.Other, r.OtherName, c.wantOther)
				}
				if r.Unit != "KiB" || r.Better != "lower" {
					t.Errorf("row %q: unit %q better %q", r.Metric, r.Unit, r.Better)
				}
			}
			if c.wantOther != "" && *sec.Rows[0].Other != 80 {
				t.Errorf("PeerJS raw %v KiB, want 80", *sec.Rows[0].Other)
			}
			if notes := strings.Join(sec.Notes, " "); !strings.Contains(notes, "Goal: sdk.wasm at most 1300 KiB at brotli quality 11; this build is") ||
				!strings.Contains(notes, "KiB under it.") {
				t.Errorf("notes %q do not say that this small sdk.wasm is under the goal", sec.Notes)
			}
			absent := strings.Contains(strings.Join(sec.Notes, " "), "absent")
			if absent != (c.wantOther == "") {
				t.Errorf("notes %q: absence said %v", sec.Notes, absent)
			}
		})
	}
}

func TestMainErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-wasm", filepath.Join(t.TempDir(), "missing.wasm")},
		{"-brotli-quality", "12"},
		{"stray"},
	} {
		var out bytes.Buffer
		if err := Main(context.Background(), args, &out, &out); err == nil {
			t.Errorf("Main(%q) did not fail", args)
		}
	}
}

func TestGoalNote(t *testing.T) {
	t.Parallel()
	tests := []struct {
		bytes, quality int
		want           string
	}{
		{1431584, 11, "Goal: sdk.wasm at most 1300 KiB at brotli quality 11; this build is 98.0 KiB over it."},
		{1300 << 10, 11, "Goal: sdk.wasm at most 1300 KiB at brotli quality 11; this build is 0.0 KiB under it."},
		{1000 << 10, 9, "Goal: sdk.wasm at most 1300 KiB at brotli quality 11; this build is 300.0 KiB under it (measured at quality 9)."},
	}
	for _, tt := range tests {
		if got := goalNote(tt.bytes, tt.quality); got != tt.want {
			t.Errorf("goalNote(%d, %d) = %q, want %q", tt.bytes, tt.quality, got, tt.want)
		}
	}
}

// TestPackageRows measures a real Go wasm module with its names: the rows
// per package come after the four of the files, and the note that says
// how they were measured is the last.
func TestPackageRows(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a wasm module")
	}
	dir := t.TempDir()
	src, names := filepath.Join(dir, "main.go"), filepath.Join(dir, "names.wasm")
	if err := os.WriteFile(src, []byte("package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hi\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-o", names, src)
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "sizes.json")
	var stdout, stderr bytes.Buffer
	args := []string{"-wasm", names, "-with", "", "-peerjs", filepath.Join(dir, "absent.js"), "-names", names, "-brotli-quality", "1", "-json", out}
	if err := Main(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	sec, err := bench.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(sec.Rows) < 6 || !strings.HasPrefix(sec.Rows[4].Metric, "sdk.wasm code of ") || sec.Rows[len(sec.Rows)-1].Metric != "sdk.wasm data section" {
		t.Errorf("rows %d, the fifth %q, the last %q", len(sec.Rows), sec.Rows[min(4, len(sec.Rows)-1)].Metric, sec.Rows[len(sec.Rows)-1].Metric)
	}
	if last := sec.Notes[len(sec.Notes)-1]; !strings.HasPrefix(last, "Size per package:") {
		t.Errorf("the last note is %q, want the one on the size per package", last)
	}
}
