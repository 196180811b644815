//go:build !js

package sdk_test

import (
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/skywasm/skywasm/internal/sdktest"
	"github.com/skywasm/skywasm/sdk"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// pion's mDNS-less ICE agents and coder/websocket's timers end
		// shortly after Close returns.
		goleak.IgnoreTopFunction("time.Sleep"),
	)
}

// env is a server and the peers of one test.
type env struct {
	t   *testing.T
	srv *sdktest.Server
	url string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := sdktest.StartServer(t, nil)
	return &env{t: t, srv: srv, url: srv.URL}
}

// peer creates a Peer with opts (Key, URL and API filled in), waits until
// it is open, and destroys it at cleanup.
func (e *env) peer(opts sdk.PeerOptions) *sdk.Peer {
	e.t.Helper()
	p := e.newPeer(opts)
	waitOpen(e.t, p)
	return p
}

// newPeer creates a Peer without waiting for it.
func (e *env) newPeer(opts sdk.PeerOptions) *sdk.Peer {
	e.t.Helper()
	if opts.Key == "" {
		opts.Key = sdktest.Key
	}
	if opts.URL == "" {
		opts.URL = e.url
	}
	if opts.Logger == nil && os.Getenv("SDK_DEBUG") != "" {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if opts.API == nil {
		api, err := sdktest.LoopbackAPI()
		if err != nil {
			e.t.Fatal(err)
		}
		opts.API = api
	}
	return startPeer(e.t, opts)
}

// within waits at most d for ch, reporting how long it took.
func within(t *testing.T, ch <-chan struct{}, d time.Duration, what string) time.Duration {
	t.Helper()
	start := time.Now()
	select {
	case <-ch:
		return time.Since(start)
	case <-time.After(d):
		t.Fatalf("%s did not happen within %v", what, d)
		return 0
	}
}

// errorType returns err's SkyWay type, or "".
func errorType(err error) sdk.ErrorType {
	var e *sdk.Error
	if errors.As(err, &e) {
		return e.Type
	}
	return ""
}
