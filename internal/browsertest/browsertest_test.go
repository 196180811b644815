//go:build unix

package browsertest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/skywasm/skywasm/internal/browsertest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// smokeValue is the literal that testdata/smoke expects in SMOKE_VALUE.
const smokeValue = `a "quoted" \value\ </script> with ünïcödé`

// TestRun runs testdata/smoke in Chromium: the environment reaches the
// page, the page reaches a server in this test, getUserMedia gets the fake
// devices, and two peer connections in the page connect over loopback (the
// only network under scripts/netns.sh).
func TestRun(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		// The page comes from wasmbrowsertest's server, another origin.
		w.Header().Set("Access-Control-Allow-Origin", "*")
		_, _ = io.WriteString(w, "pong")
	}))
	defer srv.Close()
	browsertest.Run(t, "./testdata/smoke", []string{"SMOKE_VALUE=" + smokeValue, "SMOKE_URL=" + srv.URL})
}

// TestRunFails checks that Run fails its test, with the reason, when the
// tests in the browser fail or cannot run.
func TestRunFails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		pkg  string
		env  []string
		// within, when set, is when the test's context ends.
		within time.Duration
		want   string
	}{
		{name: "failing wasm test", pkg: "./testdata/failing", want: "deliberate failure"},
		{name: "hung wasm test", pkg: "./testdata/hang", within: 10 * time.Second, want: "killed"},
		{name: "no such package", pkg: "./testdata/missing", want: "testdata/missing"},
		{name: "malformed env", pkg: "./testdata/smoke", env: []string{"SMOKE_VALUE"}, want: `"SMOKE_VALUE" is not of the form K=V`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			if tt.within > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.within)
				defer cancel()
			}
			r := &recorder{TB: t, ctx: ctx, deadline: t.Deadline}
			done := make(chan struct{})
			go func() {
				defer close(done)
				browsertest.Run(r, tt.pkg, tt.env)
			}()
			<-done
			failures := r.failures()
			if failures == "" {
				t.Fatal("Run did not fail the test")
			}
			t.Logf("Run failed the test, as it should:\n%s", failures)
			if !strings.Contains(failures, tt.want) {
				t.Errorf("Run failed the test with\n%s\nwant it to mention %q", failures, tt.want)
			}
		})
	}
}

func TestChromium(t *testing.T) {
	t.Parallel()
	path, err := browsertest.ChromiumPath()
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(path) {
		t.Errorf("ChromiumPath() = %q, want an absolute path", path)
	}
	flags, err := browsertest.ChromiumFlags()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--allow-loopback-in-peer-connection", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"} {
		if !slices.Contains(flags, want) {
			t.Errorf("ChromiumFlags() = %q, want %s among them", flags, want)
		}
	}
}

// TestChromiumWrapperMergesFeatures checks that the wrapper passes on its
// arguments and folds every --disable-features into one, since Chromium
// keeps only the last.
func TestChromiumWrapperMergesFeatures(t *testing.T) {
	t.Parallel()
	wrapper, err := browsertest.ChromiumWrapper()
	if err != nil {
		t.Fatal(err)
	}
	own, err := browsertest.ChromiumFlags()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(wrapper, "--skywasm-print-command",
		"--disable-features=A,B", "--headless", "--disable-features=", "an argument", "--disable-features=C").Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")[1:]

	var ownFeatures string
	for _, f := range own {
		if v, ok := strings.CutPrefix(f, "--disable-features="); ok {
			ownFeatures = v
		}
	}
	var want []string
	for _, f := range own {
		if strings.HasPrefix(f, "--disable-features=") {
			f = "--disable-features=" + ownFeatures + ",A,B,C"
		}
		want = append(want, f)
	}
	want = append(want, "--headless", "an argument")
	if !slices.Equal(got, want) {
		t.Errorf("the wrapper would run\n%q\nwant\n%q", got, want)
	}
}

// recorder is a testing.TB that records failures instead of failing the
// test, so that a test can check that Run fails.
type recorder struct {
	testing.TB
	ctx      context.Context
	deadline func() (time.Time, bool)

	mu   sync.Mutex
	msgs []string
}

func (r *recorder) Context() context.Context { return r.ctx }

func (r *recorder) Deadline() (time.Time, bool) { return r.deadline() }

func (r *recorder) Helper() {}

func (r *recorder) Error(args ...any) { r.record(fmt.Sprint(args...)) }

func (r *recorder) Errorf(format string, args ...any) { r.record(fmt.Sprintf(format, args...)) }

func (r *recorder) Fatal(args ...any) {
	r.record(fmt.Sprint(args...))
	runtime.Goexit()
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.record(fmt.Sprintf(format, args...))
	runtime.Goexit()
}

func (r *recorder) FailNow() {
	r.record("FailNow")
	runtime.Goexit()
}

func (r *recorder) Fail() { r.record("Fail") }

func (r *recorder) record(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, msg)
}

// failures returns what failed r, one message a line, or "".
func (r *recorder) failures() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.msgs, "\n")
}
