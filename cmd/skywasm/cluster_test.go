package main

import (
	"context"
	"log/slog"
	"testing"

	"github.com/skywasm/skywasm/server/config"
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

// TestClusterPrecedence holds the cluster settings to the order of the
// other sections: a flag, else its SKYWASM_* variable, else the config's
// cluster: section.
func TestClusterPrecedence(t *testing.T) {
	t.Parallel()
	yaml := config.Cluster{
		NATSEmbed: "127.0.0.1:17001", NATSRoutes: config.List{"nats-route://127.0.0.1:17001", "nats-route://127.0.0.1:17002"},
		Node: "file-node", PublicURL: "https://file.example/",
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want clusterOptions
	}{
		{"the file alone", nil, nil, clusterOptions{
			embed: "127.0.0.1:17001", routes: "nats-route://127.0.0.1:17001,nats-route://127.0.0.1:17002",
			node: "file-node", publicURL: "https://file.example/",
		}},
		{"a flag replaces how to reach NATS whole", nil, []string{"-nats", "nats://127.0.0.1:4222"}, clusterOptions{
			nats: "nats://127.0.0.1:4222", node: "file-node", publicURL: "https://file.example/",
		}},
		{"the environment over the file", map[string]string{"SKYWASM_NODE": "env-node", "SKYWASM_NATS_EMBED": "127.0.0.1:18000"}, nil, clusterOptions{
			embed: "127.0.0.1:18000", node: "env-node", publicURL: "https://file.example/",
		}},
		{"a flag over the environment", map[string]string{"SKYWASM_NODE": "env-node", "SKYWASM_PUBLIC_URL": "https://env.example/"},
			[]string{"-node", "flag-node"}, clusterOptions{
				embed: "127.0.0.1:17001", routes: "nats-route://127.0.0.1:17001,nats-route://127.0.0.1:17002",
				node: "flag-node", publicURL: "https://env.example/",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cl, _, _ := newCLI(tt.env)
			fs, o := cl.serveFlags()
			if err := fs.parse(cl.getenv, tt.args); err != nil {
				t.Fatal(err)
			}
			o.cluster.fill(yaml)
			if o.cluster != tt.want {
				t.Fatalf("got %+v, want %+v", o.cluster, tt.want)
			}
		})
	}
}
