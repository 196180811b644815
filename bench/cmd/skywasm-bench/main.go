// Command skywasm-bench runs skywasm's load generators and renders their
// results into docs/benchmarks.md; `make bench` runs them all through
// scripts/bench.sh.
//
//	skywasm-bench signaling [flags]
//	skywasm-bench sfu [flags]
//	skywasm-bench sizes [flags]
//	skywasm-bench report [-o FILE] [-machine TEXT] SECTION.json...
//	skywasm-bench help [benchmark]
//
// It is a command of its own, not a subcommand of skywasm, so that the
// shipped server links neither the load generators nor the client SDK they
// drive. This package is flags and wiring only.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/skywasm/skywasm/bench/report"
	sfubench "github.com/skywasm/skywasm/bench/sfu"
	signalingbench "github.com/skywasm/skywasm/bench/signaling"
	"github.com/skywasm/skywasm/bench/sizes"
)

// Exit codes, as skywasm's.
const (
	exitOK    = 0
	exitError = 1 // the benchmark failed
	exitUsage = 2 // bad command line
)

// benchmarks are the load generators, by name. Each parses its own flags
// and writes a bench.Section.
var benchmarks = map[string]struct {
	run  func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	what string
}{
	"signaling": {signalingbench.Main, "skywasm serve against peerjs-server: connect, memory, relay rate and latency"},
	"sfu":       {sfubench.Main, "native bots in one sfu room: forwarding per CPU-second, latency, largest room"},
	"sizes":     {sizes.Main, "sdk.wasm raw, gzip and brotli"},
	"report":    {report.Main, "render section files into docs/benchmarks.md"},
}

// names are the benchmarks in the order of the usage text.
var names = []string{"signaling", "sfu", "sizes", "report"}

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the command line args and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := dispatch(ctx, args, stdout, stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, errUsage):
		return exitUsage
	default:
		fmt.Fprintf(stderr, "skywasm-bench: %v\n", err)
		return exitError
	}
}

// errUsage marks an error in the command line; it has been reported already.
var errUsage = errors.New("usage error")

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError(stderr, "a benchmark is needed")
	}
	switch name := args[0]; name {
	case "-h", "-help", "--help":
		usage(stdout)
		return nil
	case "help":
		switch {
		case len(args) == 1:
			usage(stdout)
			return nil
		case len(args) > 2:
			return usageError(stderr, "help takes at most one benchmark")
		}
		b, ok := benchmarks[args[1]]
		if !ok {
			return usageError(stderr, fmt.Sprintf("unknown benchmark %q", args[1]))
		}
		// Each benchmark prints its own flags for -h, to stderr as flag does.
		return b.run(ctx, []string{"-h"}, stdout, stdout)
	default:
		b, ok := benchmarks[name]
		if !ok {
			return usageError(stderr, fmt.Sprintf("unknown benchmark %q", name))
		}
		return b.run(ctx, args[1:], stdout, stderr)
	}
}

func usage(w io.Writer) {
	var b strings.Builder
	for _, name := range names {
		fmt.Fprintf(&b, "  %-10s %s\n", name, benchmarks[name].what)
	}
	fmt.Fprintf(w, `Usage: skywasm-bench <benchmark> [flags]

Benchmarks:
%s
skywasm-bench help BENCHMARK (or skywasm-bench BENCHMARK -h) prints its flags.
make bench runs them all through scripts/bench.sh, with the browser benchmark
(node bench/browser/browser.mjs), in a loopback-only network namespace.
`, &b)
}

// usageError reports msg and the general usage, and returns errUsage.
func usageError(stderr io.Writer, msg string) error {
	fmt.Fprintf(stderr, "skywasm-bench: %s\n\n", msg)
	usage(stderr)
	return errUsage
}
