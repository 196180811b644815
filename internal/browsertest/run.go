//go:build unix

package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// defaultTimeout is the child's -timeout when the test has no deadline.
	defaultTimeout = 5 * time.Minute
	// maxGrace bounds how long before the test's deadline Run gives up, so
	// that the child's output is reported before the test binary panics.
	maxGrace = 30 * time.Second
	// maxEnvSize leaves room for the test binary's arguments in the page's
	// 8 KB of command line and environment (wasm_exec.js refuses more).
	maxEnvSize = 6 << 10
)

// passEnv names the variables the child go command may need from the test's
// environment. Nothing else goes: the page gets a copy of all of it.
var passEnv = []string{
	"HOME", "USER", "XDG_CACHE_HOME", "XDG_CONFIG_HOME",
	"GOROOT", "GOPATH", "GOCACHE", "GOMODCACHE", "GOENV", "GOTOOLCHAIN", "GOEXPERIMENT", "GOWORK",
	"GOPROXY", "GONOPROXY", "GOPRIVATE", "GOSUMDB", "GONOSUMDB", "GOINSECURE",
}

// Run compiles the tests of the Go package pkg (an import path, or a
// directory relative to the working directory such as ".") for GOOS=js
// GOARCH=wasm and runs them in headless Chromium through wasmbrowsertest,
// with env ("K=V") added to their environment. args go to go test, as in
// "-run", "TestX", "-v".
//
// Run stops t with t.Fatal and go test's output when the tests fail, and
// logs the output otherwise (go test -v: each test's log, seen with -v or on
// failure). It also stops t, and never skips it, when Chromium or
// wasmbrowsertest cannot be found. The child runs with -count=1 and a
// -timeout that ends before t's deadline (5m without one), and is killed
// with everything it started if t's context ends or the deadline draws
// near. Its temporary files, Chromium's included, are removed before Run
// returns. Tests that call Run may run in parallel: each call starts its own
// go test and Chromium.
func Run(t testing.TB, pkg string, env []string, args ...string) {
	t.Helper()
	start := time.Now()
	for _, kv := range env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			t.Fatalf("browsertest: env entry %q is not of the form K=V", kv)
		}
	}

	wrapper, err := ChromiumWrapper()
	if err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	if _, err := ChromiumPath(); err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("browsertest: failed to find the go command: %v", err)
	}
	path := filepath.Dir(wrapper) + string(os.PathListSeparator) + os.Getenv("PATH")
	if err := checkBrowserLookup(path, wrapper); err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	base := baseEnv(path)
	runner, err := wasmRunner(goCmd, base)
	if err != nil {
		t.Fatalf("browsertest: %v", err)
	}

	runCtx, cancel, timeout := runContext(t)
	defer cancel()
	if timeout <= 0 {
		t.Fatalf("browsertest: no time left before the test's deadline to run %s", pkg)
	}
	// The child has a process group of its own (below), which the
	// terminal's Ctrl-C does not reach. Run passes the interrupt on by
	// killing the child, and once it has cleaned up, lets the interrupt end
	// the test binary as it would have.
	ctx, stop := signal.NotifyContext(runCtx, os.Interrupt)
	defer func() {
		interrupted := ctx.Err() != nil && runCtx.Err() == nil
		stop()
		if interrupted {
			_ = syscall.Kill(os.Getpid(), syscall.SIGINT)
		}
	}()

	// A TMPDIR of Run's own, short because Chromium puts sockets in it:
	// chromedp and Chromium leave chromedp-runner* and
	// org.chromium.Chromium.* directories behind.
	tmp, err := os.MkdirTemp("", "browsertest")
	if err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	defer func() {
		if err := os.RemoveAll(tmp); err != nil {
			t.Errorf("browsertest: failed to remove temporary files: %v", err)
		}
	}()
	childEnv := slices.Concat(base, []string{"TMPDIR=" + tmp, "GOOS=js", "GOARCH=wasm"}, env)
	if size := envSize(childEnv); size > maxEnvSize {
		t.Fatalf("browsertest: the environment is %d bytes, more than %d: the page holds about 8 KB of arguments and environment", size, maxEnvSize)
	}
	// A file rather than a pipe: a pipe would keep Wait waiting for any
	// process that outlives go test and still holds it.
	out, err := os.CreateTemp(tmp, "output")
	if err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	defer out.Close()

	// -v streams each test's log as it happens, so that the output of a
	// killed child still shows where it was; t.Logf shows it only on -v or
	// failure anyway.
	goArgs := slices.Concat([]string{"test", "-count=1", "-v", "-timeout=" + timeout.String(), "-exec=" + runner, pkg}, args)
	cmd := exec.CommandContext(ctx, goCmd, goArgs...)
	cmd.Env = childEnv
	cmd.Stdout = out
	cmd.Stderr = out
	// One process group for go test, the test binary and Chromium, so that
	// one kill reaches them all.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	err = cmd.Run()
	if cmd.Process != nil {
		// Nothing go test started may outlive Run, nor write into tmp.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}

	output, readErr := os.ReadFile(out.Name())
	if readErr != nil {
		t.Errorf("browsertest: failed to read go test's output: %v", readErr)
	}
	report := dropNoise(string(output))
	elapsed := time.Since(start).Round(time.Millisecond)
	switch {
	case err == nil:
		t.Logf("browsertest: go test %s in Chromium passed in %v:\n%s", pkg, elapsed, report)
	case ctx.Err() != nil:
		t.Fatalf("browsertest: go test %s in Chromium killed after %v: %v\n%s", pkg, elapsed, context.Cause(ctx), report)
	default:
		t.Fatalf("browsertest: go test %s in Chromium failed after %v: %v\n%s", pkg, elapsed, err, report)
	}
}

// baseEnv returns the child go command's environment before TMPDIR, GOOS,
// GOARCH and the caller's variables: passEnv from the test's environment,
// GOFLAGS without the flags wasm lacks, and path as PATH.
func baseEnv(path string) []string {
	env := []string{"PATH=" + path}
	for _, k := range passEnv {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	// go test -race ./... runs the native half; js/wasm has no race
	// detector (nor msan or asan), so GOFLAGS must not carry them over.
	var flags []string
	for _, f := range strings.Fields(os.Getenv("GOFLAGS")) {
		name, _, _ := strings.Cut(strings.TrimLeft(f, "-"), "=")
		if name != "race" && name != "msan" && name != "asan" {
			flags = append(flags, f)
		}
	}
	if len(flags) > 0 {
		env = append(env, "GOFLAGS="+strings.Join(flags, " "))
	}
	return env
}

// runner memoizes wasmRunner for the test binary's lifetime.
var runner struct {
	once sync.Once
	path string
	err  error
}

// wasmRunner returns wasmbrowsertest, which go test runs as -exec. The tool
// directive in go.mod pins it; go tool -n builds it into the build cache
// once and prints where, so there is nothing to clean up.
func wasmRunner(goCmd string, env []string) (string, error) {
	runner.once.Do(func() {
		runner.path, runner.err = buildRunner(goCmd, env)
	})
	return runner.path, runner.err
}

func buildRunner(goCmd string, env []string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(goCmd, "tool", "-n", "wasmbrowsertest")
	cmd.Dir = root // where go.mod's tool directive applies
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("failed to build wasmbrowsertest, a tool in go.mod: %v\n%s", err, out)
	}
	path := strings.TrimSpace(string(out))
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("go tool -n wasmbrowsertest printed %q: %w", out, err)
	}
	return path, nil
}

// checkBrowserLookup makes sure that wasmbrowsertest finds wrapper on path.
// Its chromedp tries these names in this order, and a headless_shell would
// win without the flags the tests need.
func checkBrowserLookup(path, wrapper string) error {
	for _, name := range []string{"headless_shell", "headless-shell", "chromium"} {
		for _, dir := range filepath.SplitList(path) {
			file := filepath.Join(dir, name)
			if info, err := os.Stat(file); err != nil || info.IsDir() || info.Mode().Perm()&0o111 == 0 {
				continue
			}
			if file != wrapper {
				return fmt.Errorf("wasmbrowsertest would start %s instead of %s, without the flags the tests need", file, wrapper)
			}
			return nil
		}
	}
	return fmt.Errorf("wasmbrowsertest would not find %s on PATH", wrapper)
}

// runContext returns the context the child runs under and the child's
// -timeout. Both end before t's deadline, if it has one: the -timeout
// first, so that the wasm test reports where it hung; then the context, for
// a child stuck elsewhere; both in time for Run to report the output.
func runContext(t testing.TB) (context.Context, context.CancelFunc, time.Duration) {
	if tt, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if end, ok := tt.Deadline(); ok {
			left := time.Until(end)
			grace := min(left/10, maxGrace)
			ctx, cancel := context.WithDeadlineCause(t.Context(), end.Add(-grace),
				errors.New("the test's deadline is near"))
			return ctx, cancel, (left - 2*grace).Truncate(time.Second)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	return ctx, cancel, defaultTimeout
}

// envSize is how many bytes env takes in the page.
func envSize(env []string) int {
	n := 0
	for _, kv := range env {
		n += len(kv) + 1
	}
	return n
}

// dropNoise removes the lines that wasmbrowsertest's pinned chromedp prints
// for every CDP event whose IPAddressSpace value (Loopback) it predates.
func dropNoise(output string) string {
	lines := strings.SplitAfter(output, "\n")
	lines = slices.DeleteFunc(lines, func(line string) bool {
		return strings.Contains(line, "could not unmarshal event: unknown IPAddressSpace value")
	})
	return strings.Join(lines, "")
}
