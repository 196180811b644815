// Command precompress writes the precompressed variants that server/static
// serves in place of a file: FILE.gz (gzip at its best compression) and
// FILE.br (brotli) beside each FILE.
//
//	go run ./tools/precompress [-brotli-quality N] FILE...
//
// A variant that is current (static.Current: not older than its file) is
// left alone, so that a build can run this every time. A variant is written
// to a temporary dotfile, given its file's modification time and renamed
// into place: a running server never serves half of one, and a file
// rebuilt while it was being compressed leaves a variant older than the
// file, which the server ignores and the next run rewrites.
//
// It is a build tool, not part of the server: the server compresses
// nothing itself.
package main

import (
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/andybalholm/brotli"

	"github.com/skywasm/skywasm/server/static"
)

// defaultBrotliQuality is brotli's quality for a build: the smallest. On
// the 7.9 MB sdk.wasm, on one core of a 2-core machine: quality 9 takes 2 s
// idle (8.5 s busy) for 22.3 % of the size, 10 takes 12 s (41 s busy) for
// 20.5 %, 11 takes 19 s (90 s busy) for 19.7 % (gzip -9: 0.8 s, 27.1 %).
// Quality 11 is 11 % fewer bytes than 9 for every page that loads the SDK,
// paid once per changed sdk.wasm: `make wasm` keeps an unchanged sdk.wasm's
// time, so its variant stays current and is not compressed again. The
// other files are small enough that quality does not show in the time.
const defaultBrotliQuality = 11

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // a file could not be compressed
	exitUsage = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the command line args and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("precompress", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: precompress [-brotli-quality N] FILE...

Writes FILE.gz and FILE.br beside each FILE, for server/static to serve in
its place; a variant not older than its file is left as it is.

Flags:
`)
		fs.PrintDefaults()
	}
	quality := fs.Int("brotli-quality", defaultBrotliQuality, "brotli `quality`, 0 (fastest) to 11 (smallest)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if *quality < brotli.BestSpeed || *quality > brotli.BestCompression {
		fmt.Fprintf(stderr, "precompress: -brotli-quality %d: must be %d to %d\n", *quality, brotli.BestSpeed, brotli.BestCompression)
		return exitUsage
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitUsage
	}
	code := exitOK
	for _, name := range fs.Args() {
		report, err := precompress(name, *quality)
		if err != nil {
			fmt.Fprintf(stderr, "precompress: %v\n", err)
			code = exitError
			continue
		}
		fmt.Fprintln(stdout, report)
	}
	return code
}

// variant is a precompressed form of a file.
type variant struct {
	label, suffix string
	newWriter     func(w io.Writer, brotliQuality int) (io.WriteCloser, error)
}

var variants = []variant{
	{"gzip", static.GzipSuffix, func(w io.Writer, _ int) (io.WriteCloser, error) {
		// The header names no file and no time: the same input gives the
		// same bytes, and so the same ETag.
		return gzip.NewWriterLevel(w, gzip.BestCompression)
	}},
	{"br", static.BrotliSuffix, func(w io.Writer, quality int) (io.WriteCloser, error) {
		return brotli.NewWriterOptions(w, brotli.WriterOptions{Quality: quality}), nil
	}},
}

// precompress writes the variants of name that are not current, side by
// side, and returns a line saying what it did.
func precompress(name string, brotliQuality int) (string, error) {
	st, err := os.Stat(name)
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s: not a regular file", name)
	}
	type result struct {
		v       variant
		size    int64
		took    time.Duration
		current bool
		err     error
	}
	results := make([]result, len(variants))
	var wg sync.WaitGroup
	for i, v := range variants {
		wg.Go(func() {
			r := &results[i]
			r.v = v
			if vst, err := os.Stat(name + v.suffix); err == nil && vst.Mode().IsRegular() && static.Current(st, vst) {
				r.size, r.current = vst.Size(), true
				return
			}
			start := time.Now()
			r.size, r.err = write(name, st, v, brotliQuality)
			r.took = time.Since(start)
		})
	}
	wg.Wait()

	report := fmt.Sprintf("%s: %d bytes", name, st.Size())
	var errs []error
	for _, r := range results {
		if r.err != nil {
			errs = append(errs, r.err)
			continue
		}
		report += fmt.Sprintf("; %s %d (%.1f%%)", r.v.label, r.size, 100*float64(r.size)/float64(max(st.Size(), 1)))
		if r.current {
			report += " up to date"
		} else {
			report += " in " + r.took.Round(10*time.Millisecond).String()
		}
	}
	return report, errors.Join(errs...)
}

// write compresses name, whose info is st, into its variant v through a
// temporary file, and returns the variant's size.
func write(name string, st os.FileInfo, v variant, brotliQuality int) (size int64, err error) {
	src, err := os.Open(name)
	if err != nil {
		return 0, err
	}
	defer src.Close()
	// A dotfile, so that the server would not serve it, and without the
	// variant's suffix, so that it is not taken for one.
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+v.suffix+".*.tmp")
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	enc, err := v.newWriter(tmp, brotliQuality)
	if err != nil {
		return 0, err
	}
	if _, err := io.Copy(enc, src); err != nil {
		return 0, fmt.Errorf("failed to compress %s: %w", name, err)
	}
	if err := enc.Close(); err != nil {
		return 0, fmt.Errorf("failed to compress %s: %w", name, err)
	}
	if size, err = tmp.Seek(0, io.SeekCurrent); err != nil {
		return 0, err
	}
	if err := tmp.Chmod(st.Mode().Perm()); err != nil {
		return 0, err
	}
	if err := tmp.Close(); err != nil {
		return 0, err
	}
	// The file's own time: if it changes from now on, the variant is older
	// than it, and so not current.
	if err := os.Chtimes(tmp.Name(), time.Time{}, st.ModTime()); err != nil {
		return 0, err
	}
	now, err := os.Stat(name)
	if err != nil {
		return 0, err
	}
	if now.Size() != st.Size() || !now.ModTime().Equal(st.ModTime()) {
		return 0, fmt.Errorf("%s changed while being compressed; run again", name)
	}
	if err := os.Rename(tmp.Name(), name+v.suffix); err != nil {
		return 0, err
	}
	return size, nil
}
