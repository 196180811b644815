package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/skywasm/skywasm/server"
	"github.com/skywasm/skywasm/server/cluster"
	"github.com/skywasm/skywasm/server/config"
	"github.com/skywasm/skywasm/server/metrics"
	"github.com/skywasm/skywasm/server/routing"
)

// clusterOptions are serve's cluster flags: with neither -nats nor
// -nats-embed the server is a single node and opens nothing for NATS.
type clusterOptions struct {
	nats, embed, routes, node, publicURL string
}

func (o *clusterOptions) register(fs *flagSet) {
	fs.StringVar(&o.nats, "nats", "", "join a cluster through these NATS `urls` (nats://host:4222[,…]; JetStream enabled)")
	fs.StringVar(&o.embed, "nats-embed", "", "run a nats-server inside, taking cluster routes on `host:port`, and join the cluster through it")
	fs.StringVar(&o.routes, "nats-routes", "", "the embedded nats-server's cluster `routes` (nats-route://host:port[,…]), this node's own may be among them")
	fs.StringVar(&o.node, "node", "", "this node's `name` in the cluster, unique (default: the hostname and a random suffix)")
	fs.StringVar(&o.publicURL, "public-url", "", "the `URL` the dispatcher gives clients of this node (default: the listen URL)")
	fs.bindEnv("nats", "SKYWASM_NATS")
	fs.bindEnv("nats-embed", "SKYWASM_NATS_EMBED")
	fs.bindEnv("nats-routes", "SKYWASM_NATS_ROUTES")
	fs.bindEnv("node", "SKYWASM_NODE")
	fs.bindEnv("public-url", "SKYWASM_PUBLIC_URL")
}

// fill takes what the flags (and their SKYWASM_* variables) leave unset
// from the config's cluster: section. How to reach NATS is taken whole:
// any of -nats, -nats-embed and -nats-routes replaces all three of the
// file's, so that a flag never mixes with the file into a shape neither
// asked for; -node and -public-url each replace their own.
func (o *clusterOptions) fill(c config.Cluster) {
	if o.nats == "" && o.embed == "" && o.routes == "" {
		o.nats, o.embed, o.routes = c.NATS.String(), c.NATSEmbed, c.NATSRoutes.String()
	}
	if o.node == "" {
		o.node = c.Node
	}
	if o.publicURL == "" {
		o.publicURL = c.PublicURL
	}
}

// node is this server's part in a cluster.
type node struct {
	router *cluster.Router
	nc     *nats.Conn // deliveries
	kvc    *nats.Conn // the key-value store and the lease, apart from bulk data
	m      *metrics.Cluster
	ns     *natsserver.Server
	dir    string
}

// start joins the cluster, or returns nil without cluster flags.
func (o *clusterOptions) start(ctx context.Context, logger *slog.Logger, listenURL string) (*node, error) {
	switch {
	case o.nats == "" && o.embed == "":
		if o.routes != "" {
			return nil, fmt.Errorf("-nats-routes needs -nats-embed")
		}
		return nil, nil
	case o.nats != "" && o.embed != "":
		return nil, fmt.Errorf("-nats and -nats-embed exclude each other: join an existing NATS or run one inside")
	}
	name := o.node
	if name == "" {
		host, _ := os.Hostname()
		var b [3]byte
		_, _ = rand.Read(b[:])
		name = host + "-" + hex.EncodeToString(b[:])
	}
	n := &node{m: metrics.NewCluster(nil)}
	cfg := cluster.DefaultConfig()
	cfg.Node, cfg.PublicURL, cfg.Logger, cfg.Metrics = name, o.publicURL, logger.With("plane", "cluster"), n.m
	if cfg.PublicURL == "" {
		cfg.PublicURL = listenURL
	}
	var err error
	if o.embed != "" {
		if n.dir, err = os.MkdirTemp("", "skywasm-nats-"); err != nil {
			return nil, err
		}
		routes := splitList(o.routes)
		if n.ns, err = cluster.Embed(cluster.EmbedConfig{Name: name, Listen: o.embed, Routes: routes, StoreDir: n.dir}); err != nil {
			n.stop()
			return nil, err
		}
		n.nc, err = cluster.ConnectEmbedded(n.ns, name)
		if err == nil {
			n.kvc, err = cluster.ConnectEmbedded(n.ns, name+" kv")
		}
		cfg.Replicas = max(1, min(3, len(routes)))
	} else {
		n.nc, err = cluster.Connect(o.nats, name)
		if err == nil {
			n.kvc, err = cluster.Connect(o.nats, name+" kv")
		}
		cfg.Replicas = 3
	}
	if err != nil {
		n.stop()
		return nil, err
	}
	cfg.KVConn = n.kvc
	// JetStream elects its leaders for a while after the servers start.
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		tctx, tcancel := context.WithTimeout(ctx, 5*time.Second)
		n.router, err = cluster.New(tctx, n.nc, cfg)
		tcancel()
		if err == nil || ctx.Err() != nil {
			break
		}
		logger.Info("waiting for the cluster", "err", err)
		time.Sleep(time.Second)
	}
	if err != nil {
		n.stop()
		return nil, fmt.Errorf("failed to join the cluster: %w", err)
	}
	logger.Info("joined the cluster", "node", name, "publicURL", cfg.PublicURL)
	return n, nil
}

// options routes the server through the cluster, gates /healthz on it and
// mounts the dispatcher.
func (n *node) options(opts *server.Options, cfg *config.Config) {
	opts.Router = n.router
	opts.Ready = n.router.Ready
	opts.PinSFU = func(local routing.SFU) (routing.SFU, error) {
		s, err := n.router.PinSFU(local)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	opts.Collectors = n.m.Collectors()
	opts.Handlers = map[string]http.Handler{
		dispatchPattern: dispatchHandler(cfg, n.router.Dispatcher(func(key string) bool {
			_, ok := cfg.App(key)
			return ok
		})),
	}
}

func (n *node) stop() {
	if n.router != nil {
		_ = n.router.Close()
	}
	if n.nc != nil {
		n.nc.Close()
	}
	if n.kvc != nil {
		n.kvc.Close()
	}
	if n.ns != nil {
		n.ns.Shutdown()
		n.ns.WaitForShutdown()
	}
	if n.dir != "" {
		_ = os.RemoveAll(n.dir)
	}
}
