package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestCommandLine checks the dispatch to the benchmarks, not the benchmarks
// themselves, which their packages test: only what returns at once runs.
func TestCommandLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{name: "no benchmark", code: exitUsage, stderr: "a benchmark is needed"},
		{name: "unknown", args: []string{"nope"}, code: exitUsage, stderr: `unknown benchmark "nope"`},
		{name: "-h lists them", args: []string{"-h"}, code: exitOK, stdout: "sfu "},
		{name: "help lists them", args: []string{"help"}, code: exitOK, stdout: "signaling "},
		{name: "help of one", args: []string{"help", "report"}, code: exitOK, stdout: "Usage: skywasm-bench report"},
		{name: "help of unknown", args: []string{"help", "nope"}, code: exitUsage, stderr: `unknown benchmark "nope"`},
		{name: "flags of one", args: []string{"sizes", "-h"}, code: exitOK, stderr: "-brotli-quality"},
		{name: "bad flag", args: []string{"sizes", "-brotli-quality", "12"}, code: exitError, stderr: "skywasm-bench: sizes: -brotli-quality 12"},
		{name: "report needs sections", args: []string{"report"}, code: exitError, stderr: "skywasm-bench: report: no section files given"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, &stderr)
			}
			if !strings.Contains(stdout.String(), tc.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdout, &stdout)
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, &stderr)
			}
		})
	}
}
