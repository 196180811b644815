//go:build !js

package sdk_test

import (
	"context"
	"testing"
	"time"

	"github.com/skywasm/skywasm/internal/sdktest"
	"github.com/skywasm/skywasm/sdk"
)

// BenchmarkDataThroughput sends 16 MiB per iteration between two native
// peers on loopback and reports MB/s: one 16 MiB []byte with binary (cut
// into 16 KiB chunks and reassembled), and 1024 messages of 16 KiB with none.
func BenchmarkDataThroughput(b *testing.B) {
	const total = 16 << 20
	for _, tc := range []struct {
		name, serialization string
		message             int
	}{
		{"binary-16MiB", sdk.SerializationBinary, total},
		{"none-16KiB", sdk.SerializationNone, 16 << 10},
	} {
		b.Run(tc.name, func(b *testing.B) {
			srv := sdktest.StartServer(b, nil)
			api, err := sdktest.LoopbackAPI()
			if err != nil {
				b.Fatal(err)
			}
			peer := func() *sdk.Peer {
				p, err := sdk.NewPeer(sdk.PeerOptions{Key: sdktest.Key, URL: srv.URL, API: api})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(p.Destroy)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if _, err := p.WaitOpen(ctx); err != nil {
					b.Fatal(err)
				}
				return p
			}
			x, y := peer(), peer()
			got := make(chan int, 1024)
			y.OnConnection(func(dc *sdk.DataConnection) {
				dc.OnData(func(v any) { got <- len(v.([]byte)) })
			})
			dc, err := x.Connect(y.ID(), &sdk.ConnectOptions{Serialization: tc.serialization})
			if err != nil {
				b.Fatal(err)
			}
			opened := make(chan struct{})
			dc.OnOpen(func() { close(opened) })
			<-opened
			msg := make([]byte, tc.message)
			ctx := context.Background()
			b.SetBytes(total)
			b.ResetTimer()
			for range b.N {
				go func() {
					for range total / tc.message {
						if err := dc.Send(ctx, msg); err != nil {
							b.Error(err)
							return
						}
					}
				}()
				for n := 0; n < total; {
					n += <-got
				}
			}
		})
	}
}
