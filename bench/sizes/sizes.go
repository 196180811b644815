// Package sizes measures what a page downloads for skywasm's browser SDK,
// raw and compressed as `make wasm` compresses it, beside PeerJS's bundle:
// the "sdk.wasm size" section of `skywasm-bench sizes`. It only reads
// files; it builds nothing, so it measures whatever `make wasm` last built.
package sizes

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/andybalholm/brotli"

	"github.com/skywasm/skywasm/bench"
)

// defaultBrotliQuality is the quality tools/precompress uses for
// `make wasm`, so that the figures are those of the files served.
const defaultBrotliQuality = 11

// options are Main's flags.
type options struct {
	wasm, peerjs, json string
	names              string // an unstripped build of the same program, for the size per package
	extra              string // comma-separated: the SDK's other files a page loads
	quality            int
	args               []string
}

// Main runs `skywasm-bench sizes` with args: it writes the section as JSON
// to the -json file and as text to stdout.
func Main(_ context.Context, args []string, stdout, stderr io.Writer) error {
	o := options{args: args}
	fs := flag.NewFlagSet("skywasm-bench sizes", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.wasm, "wasm", "js/sdk.wasm", "the SDK's wasm `file`, as `make wasm` builds it")
	fs.StringVar(&o.extra, "with", "js/wasm_exec.js,js/skywasm.js", "the SDK's other `files` a page loads, comma-separated")
	fs.StringVar(&o.peerjs, "peerjs", "node_modules/peerjs/dist/peerjs.min.js", "PeerJS's bundle `file`, compared with; without it the rows have no comparison")
	fs.StringVar(&o.json, "json", "", "write the section as JSON to `file`")
	fs.StringVar(&o.names, "names", "", "an unstripped build (no -s -w) of the same program: adds its code size per Go package")
	fs.IntVar(&o.quality, "brotli-quality", defaultBrotliQuality, "brotli `quality`, as given to tools/precompress")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("sizes: unexpected arguments %q", fs.Args())
	}
	if o.quality < brotli.BestSpeed || o.quality > brotli.BestCompression {
		return fmt.Errorf("sizes: -brotli-quality %d: must be %d to %d", o.quality, brotli.BestSpeed, brotli.BestCompression)
	}
	sec, err := measure(o)
	if err != nil {
		return fmt.Errorf("sizes: %w", err)
	}
	for _, r := range sec.Rows {
		fmt.Fprintf(stdout, "%-48s %9.1f %s", r.Metric, *r.Skywasm, r.Unit)
		if r.Other != nil {
			fmt.Fprintf(stdout, "   %s %.1f", r.OtherName, *r.Other)
		}
		fmt.Fprintln(stdout)
	}
	if o.json != "" {
		if err := sec.WriteFile(o.json); err != nil {
			return fmt.Errorf("sizes: %w", err)
		}
	}
	return nil
}

// sizes are one file's (or files') bytes raw, gzip -9 and brotli.
type sizes struct{ raw, gzip, brotli int }

// measure builds the section.
func measure(o options) (bench.Section, error) {
	cmd := "skywasm-bench sizes"
	if len(o.args) > 0 {
		cmd += " " + strings.Join(o.args, " ")
	}
	sec := bench.Section{Title: "sdk.wasm size", Command: cmd}
	wasm, err := compressed(o.wasm, o.quality)
	if err != nil {
		return sec, err
	}
	page := wasm
	var extras []string
	for name := range strings.SplitSeq(o.extra, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		s, err := compressed(name, o.quality)
		if err != nil {
			return sec, err
		}
		page.raw, page.gzip, page.brotli = page.raw+s.raw, page.gzip+s.gzip, page.brotli+s.brotli
		extras = append(extras, filepath.Base(name))
	}

	var peer *sizes
	otherName := ""
	version, verr := peerjsVersion(o.peerjs)
	if s, err := compressed(o.peerjs, o.quality); err == nil {
		peer = &s
		otherName = "PeerJS " + filepath.Base(o.peerjs)
		if verr == nil {
			otherName = "PeerJS " + version + " " + filepath.Base(o.peerjs)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return sec, err
	}

	kib := func(n int) *float64 { return bench.F(float64(n) / 1024) }
	row := func(metric string, sky int, other func(sizes) int, detail string) bench.Row {
		r := bench.Row{Metric: metric, Unit: "KiB", Skywasm: kib(sky), Better: "lower", Detail: detail}
		if peer != nil {
			r.Other, r.OtherName = kib(other(*peer)), otherName
		}
		return r
	}
	brName := fmt.Sprintf("brotli quality %d", o.quality)
	sec.Rows = []bench.Row{
		row("sdk.wasm raw", wasm.raw, func(s sizes) int { return s.raw }, ""),
		row("sdk.wasm gzip -9", wasm.gzip, func(s sizes) int { return s.gzip }, "as served to a client that accepts only gzip"),
		row("sdk.wasm "+brName, wasm.brotli, func(s sizes) int { return s.brotli }, "as served to a browser"),
		row("the whole SDK a page loads, "+brName, page.brotli, func(s sizes) int { return s.brotli },
			"sdk.wasm with "+strings.Join(extras, " and ")),
	}
	// The note on the size per package goes last; a deferred append to sec
	// would come after the return had copied sec, and be lost.
	var pkgNote string
	if o.names != "" {
		pkgRows, note, err := packageRows(o.names, o.quality)
		if err != nil {
			return sec, err
		}
		sec.Rows = append(sec.Rows, pkgRows...)
		pkgNote = note
	}
	sec.Notes = []string{
		fmt.Sprintf("Compressed as `make wasm` compresses (tools/precompress): gzip at its best compression, brotli at quality %d; the server sends these precompressed files.", o.quality),
		"sdk.wasm is the Go runtime and the whole SDK (signaling client, protocol, pion/webrtc's browser bindings) compiled to WebAssembly; PeerJS is JavaScript over the browser's own WebRTC, so skywasm is the bigger download by design, and its wasm is also compiled by the browser as it streams in.",
	}
	sec.Notes = append(sec.Notes, goalNote(wasm.brotli, o.quality))
	if peer == nil {
		sec.Notes = append(sec.Notes, fmt.Sprintf("PeerJS's bundle %s is absent (run npm ci), so the rows have no comparison.", o.peerjs))
	} else if verr != nil {
		sec.Notes = append(sec.Notes, fmt.Sprintf("PeerJS's version is unknown: %v.", verr))
	}
	if pkgNote != "" {
		sec.Notes = append(sec.Notes, pkgNote)
	}
	return sec, nil
}

// goalKiB is sdk.wasm's size goal (issue 20), brotli at quality 11.
const goalKiB = 1300

// goalNote says how far sdk.wasm's brotli size is from goalKiB.
func goalNote(brotliBytes, quality int) string {
	diff := float64(brotliBytes)/1024 - goalKiB
	where := "under"
	if diff > 0 {
		where = "over"
	}
	note := fmt.Sprintf("Goal: sdk.wasm at most %d KiB at brotli quality 11; this build is %.1f KiB %s it", goalKiB, math.Abs(diff), where)
	if quality != 11 {
		note += fmt.Sprintf(" (measured at quality %d)", quality)
	}
	return note + "."
}

// topPackages is how many packages get a row of their own.
const topPackages = 20

// packageRows are the rows of the size per package, from an unstripped
// build: the largest packages' code, the rest's, and the data section.
func packageRows(names string, quality int) ([]bench.Row, string, error) {
	pkgs, sections, err := packageSizes(names, quality)
	if err != nil {
		return nil, "", err
	}
	kib := func(n int) *float64 { return bench.F(float64(n) / 1024) }
	var rows []bench.Row
	rest, restBr, restN := 0, 0, 0
	for i, p := range pkgs {
		if i >= topPackages {
			rest, restBr, restN = rest+p.raw, restBr+p.brotli, restN+1
			continue
		}
		rows = append(rows, bench.Row{
			Metric: "sdk.wasm code of " + p.pkg, Unit: "KiB", Skywasm: kib(p.raw), Better: "lower",
			Detail: fmt.Sprintf("%d functions; brotli alone %.1f KiB", p.funcs, float64(p.brotli)/1024),
		})
	}
	rows = append(rows,
		bench.Row{Metric: "sdk.wasm code of the other packages", Unit: "KiB", Skywasm: kib(rest), Better: "lower",
			Detail: fmt.Sprintf("%d packages; brotli alone %.1f KiB", restN, float64(restBr)/1024)},
		bench.Row{Metric: "sdk.wasm data section", Unit: "KiB", Skywasm: kib(sections["data"]), Better: "lower",
			Detail: "the Go runtime's tables (pclntab, type data) and every package's constants, not attributed"},
	)
	note := fmt.Sprintf("Size per package: the code section's function bodies (%.0f KiB of %.0f KiB code, %.0f KiB data) "+
		"attributed by the function names of an unstripped build of the same program (the name section, which -s strips; "+
		"the code is the same); \"brotli alone\" compresses a package's bodies by themselves, so the column does not add up to the module's brotli size.",
		float64(sumRaw(pkgs))/1024, float64(sections["code"])/1024, float64(sections["data"])/1024)
	return rows, note, nil
}

func sumRaw(pkgs []pkgSize) int {
	n := 0
	for _, p := range pkgs {
		n += p.raw
	}
	return n
}

// compressed measures one file. It streams the file into both
// compressors as tools/precompress does: brotli's output depends on
// the sizes of the writes, and the figures must be those of the files
// served.
func compressed(name string, quality int) (sizes, error) {
	f, err := os.Open(name)
	if err != nil {
		return sizes{}, fmt.Errorf("failed to measure the size: %w", err)
	}
	defer f.Close()
	var gz, br countingWriter
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return sizes{}, err
	}
	bw := brotli.NewWriterOptions(&br, brotli.WriterOptions{Quality: quality})
	raw, err := io.Copy(io.MultiWriter(zw, bw), f)
	if err == nil {
		err = zw.Close()
	}
	if err == nil {
		err = bw.Close()
	}
	if err != nil {
		return sizes{}, fmt.Errorf("failed to compress %s: %w", name, err)
	}
	return sizes{raw: int(raw), gzip: gz.n, brotli: br.n}, nil
}

// countingWriter counts what is written to it and keeps none of it.
type countingWriter struct{ n int }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += len(p)
	return len(p), nil
}

// peerjsVersion reads the version of the npm package whose dist/ holds
// bundle.
func peerjsVersion(bundle string) (string, error) {
	data, err := os.ReadFile(filepath.Join(filepath.Dir(bundle), "..", "package.json"))
	if err != nil {
		return "", fmt.Errorf("failed to read PeerJS's version: %w", err)
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(data, &pkg); err != nil {
		return "", fmt.Errorf("failed to read PeerJS's version: %w", err)
	}
	if pkg.Version == "" {
		return "", errors.New("PeerJS's package.json has no version")
	}
	return pkg.Version, nil
}
