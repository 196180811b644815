//go:build !js

package sdk_test

import (
	"context"
	"testing"
	"time"

	"github.com/skywasm/skywasm/internal/sdktest"
	"github.com/skywasm/skywasm/sdk"
)

// BenchmarkPeerOpen opens a Peer on a single server (no cluster) and
// destroys it, with the dispatcher asked first (the default) and without
// (NoDispatch): the difference is what asking costs a single server's
// peers.
func BenchmarkPeerOpen(b *testing.B) {
	srv := sdktest.StartServer(b, nil)
	api, err := sdktest.LoopbackAPI()
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		noDispatch bool
	}{{"dispatch", false}, {"NoDispatch", true}} {
		b.Run(tc.name, func(b *testing.B) {
			for range b.N {
				p, err := sdk.NewPeer(sdk.PeerOptions{Key: sdktest.Key, URL: srv.URL, API: api, NoDispatch: tc.noDispatch})
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, err = p.WaitOpen(ctx)
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				p.Destroy()
				b.StartTimer()
			}
		})
	}
}
