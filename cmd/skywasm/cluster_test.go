package main

import (
	"context"
	"log/slog"
	"testing"
)

func TestClusterFlagsRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		o    clusterOptions
	}{
		{"routes without embed", clusterOptions{routes: "nats-route://127.0.0.1:1"}},
		{"nats and embed", clusterOptions{nats: "nats://127.0.0.1:1", embed: "127.0.0.1:0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if n, err := tt.o.start(context.Background(), slog.New(slog.DiscardHandler), "http://x/"); err == nil || n != nil {
				t.Fatalf("start = %v, %v; want an error", n, err)
			}
		})
	}
	// No cluster flags: a single node, nothing opened for NATS.
	var none clusterOptions
	if n, err := none.start(context.Background(), slog.New(slog.DiscardHandler), "http://x/"); n != nil || err != nil {
		t.Fatalf("start without flags = %v, %v", n, err)
	}
}
