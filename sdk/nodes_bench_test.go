//go:build !js

package sdk_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/skywasm/skywasm/internal/sdktest"
	"github.com/skywasm/skywasm/sdk"
)

// BenchmarkPeerOpen opens Peers on a single server (no cluster), in turn
// with the dispatcher asked first (the default) and without (NoDispatch),
// so that a loaded machine's drift weighs on both alike. It reports the
// median time to open of each and their difference, which is what asking
// costs a single server's peers.
func BenchmarkPeerOpen(b *testing.B) {
	srv := sdktest.StartServer(b, nil)
	api, err := sdktest.LoopbackAPI()
	if err != nil {
		b.Fatal(err)
	}
	open := func(noDispatch bool) time.Duration {
		start := time.Now()
		p, err := sdk.NewPeer(sdk.PeerOptions{Key: sdktest.Key, URL: srv.URL, API: api, NoDispatch: noDispatch})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err = p.WaitOpen(ctx)
		cancel()
		took := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		p.Destroy()
		return took
	}
	var with, without []time.Duration
	for range b.N {
		with = append(with, open(false))
		without = append(without, open(true))
	}
	median := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2].Microseconds())
	}
	b.ReportMetric(median(with), "µs-open-dispatch")
	b.ReportMetric(median(without), "µs-open-NoDispatch")
	b.ReportMetric(median(with)-median(without), "µs-added")
}
