package signaling_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/config"
	"github.com/skywasm/skywasm/server/signaling"
)

// fakeTURN issues fixed credentials and records revocations.
type fakeTURN struct {
	mu      sync.Mutex
	revoked []string
}

func (f *fakeTURN) Credential(app *config.App, peerID string, _ time.Time) *protocol.TURNCredential {
	return &protocol.TURNCredential{Username: peerID, Password: "x", URLs: []string{"turn:127.0.0.1:3478"}}
}

func (f *fakeTURN) Revoke(apiKey, peerID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revoked = append(f.revoked, peerID)
}

func (f *fakeTURN) has(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Contains(f.revoked, id)
}

// TestTURNRevokedOnLeave: a peer that leaves has its TURN credential
// revoked; one that only dropped (within its reclaim window) or whose
// server shuts down keeps it, for its calls go on.
func TestTURNRevokedOnLeave(t *testing.T) {
	t.Parallel()
	f := &fakeTURN{}
	e := newEnv(t, func(c *signaling.Config) {
		c.TURN = f
		c.ReclaimWindow = time.Minute
	})
	leaver := e.dial(dialOpts{peerID: "leaver"})
	dropper := e.dial(dialOpts{peerID: "dropper", token: "tok"})
	stayer := e.dial(dialOpts{peerID: "stayer", token: "tok"})
	leaver.close()
	dropper.drop()
	eventually(t, "leaver revoked", func() bool { return f.has("leaver") })
	time.Sleep(noMessage)
	if f.has("dropper") {
		t.Fatal("a peer within its reclaim window was revoked")
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	stayer.expectClose(1001)
	if f.has("stayer") || f.has("dropper") {
		t.Fatalf("revoked at shutdown: %v", f.revoked)
	}
}
