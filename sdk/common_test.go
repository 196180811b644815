package sdk_test

// Helpers of the native and the browser tests alike.

import (
	"context"
	"testing"
	"time"

	"github.com/skywasm/skywasm/sdk"
)

// wait bounds every wait of a test; "within a second" checks use their own.
const wait = 20 * time.Second

// startPeer creates a Peer that is destroyed at cleanup.
func startPeer(t *testing.T, opts sdk.PeerOptions) *sdk.Peer {
	t.Helper()
	p, err := sdk.NewPeer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Destroy)
	return p
}

// waitOpen waits until p is open.
func waitOpen(t *testing.T, p *sdk.Peer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := p.WaitOpen(ctx); err != nil {
		t.Fatalf("peer did not open: %v", err)
	}
}

// recv waits for a value on ch.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wait):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}
