package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/skywasm/skywasm/internal/bench/report"
	sfubench "github.com/skywasm/skywasm/internal/bench/sfu"
	signalingbench "github.com/skywasm/skywasm/internal/bench/signaling"
	"github.com/skywasm/skywasm/internal/bench/sizes"
)

// benchmarks are the load generators of `skywasm bench`, by name. Each
// parses its own flags and writes a bench.Section; `make bench` runs them
// all through scripts/bench.sh.
var benchmarks = map[string]struct {
	run  func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	what string
}{
	"signaling": {signalingbench.Main, "skywasm serve against peerjs-server: connect, memory, relay rate and latency"},
	"sfu":       {sfubench.Main, "native bots in one sfu room: forwarding per CPU-second, latency, largest room"},
	"sizes":     {sizes.Main, "sdk.wasm raw, gzip and brotli"},
	"report":    {report.Main, "render section files into docs/benchmarks.md"},
}

// bench runs one benchmark: skywasm bench NAME [flags].
func (cl *cli) bench(ctx context.Context, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return cl.usageError("bench needs a benchmark: " + benchNames())
	}
	b, ok := benchmarks[args[0]]
	if !ok {
		return cl.usageError(fmt.Sprintf("unknown benchmark %q; one of %s", args[0], benchNames()))
	}
	return b.run(ctx, args[1:], cl.stdout, cl.stderr)
}

func benchNames() string {
	var b strings.Builder
	for _, name := range []string{"signaling", "sfu", "sizes", "report"} {
		fmt.Fprintf(&b, "\n  %-10s %s", name, benchmarks[name].what)
	}
	return b.String()
}
