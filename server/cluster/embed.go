package cluster

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// EmbedConfig sets up a nats-server inside the process.
type EmbedConfig struct {
	// Name names the server; the node's name serves.
	Name string
	// Cluster names the NATS cluster; empty means "skywasm".
	Cluster string
	// Listen is the host:port the server takes routes from the others on
	// (port 0: any free port).
	Listen string
	// Routes are the route URLs (nats-route://host:port) of the cluster's
	// servers; this server's own may be among them. Without routes the
	// server runs alone, and Listen is not used: clustered JetStream needs
	// routes from the start.
	Routes []string
	// StoreDir holds JetStream's files; the buckets themselves are kept
	// in memory.
	StoreDir string
	// ClientListen, if set, is a host:port for NATS clients such as the
	// nats CLI; without it the server listens on a free loopback port
	// (nats-server starts its routes only once its client listener is up).
	ClientListen string
}

// Embed starts a nats-server with JetStream, routed to the others, and
// waits until it takes connections. Stop it with Shutdown and
// WaitForShutdown.
func Embed(c EmbedConfig) (*server.Server, error) {
	host, port, err := splitHostPort(c.Listen)
	if err != nil {
		return nil, fmt.Errorf("cluster: the embedded server's listen address: %w", err)
	}
	if c.Cluster == "" {
		c.Cluster = "skywasm"
	}
	o := &server.Options{
		ServerName: c.Name,
		JetStream:  true,
		StoreDir:   c.StoreDir,
		NoSigs:     true,
		NoLog:      true,
		Host:       "127.0.0.1",
		Port:       server.RANDOM_PORT,
	}
	if len(c.Routes) > 0 {
		o.Cluster = server.ClusterOpts{Name: c.Cluster, Host: host, Port: port, PoolSize: -1}
	}
	if c.ClientListen != "" {
		if o.Host, o.Port, err = splitHostPort(c.ClientListen); err != nil {
			return nil, fmt.Errorf("cluster: the embedded server's client address: %w", err)
		}
	}
	for _, r := range c.Routes {
		u, err := url.Parse(r)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("cluster: route %q: want nats-route://host:port", r)
		}
		o.Routes = append(o.Routes, u)
	}
	ns, err := server.NewServer(o)
	if err != nil {
		return nil, fmt.Errorf("cluster: starting the embedded server: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, errors.New("cluster: the embedded server did not start")
	}
	return ns, nil
}

// splitHostPort parses host:port, port 0 meaning any free port.
func splitHostPort(hp string) (string, int, error) {
	host, p, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", p)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	return host, port, nil
}

// ConnectEmbedded connects to an embedded server in-process, reconnecting
// for ever.
func ConnectEmbedded(ns *server.Server, name string) (*nats.Conn, error) {
	return Connect("", name, nats.InProcessServer(ns))
}

// Connect connects to NATS servers (comma-separated nats:// URLs),
// reconnecting for ever.
func Connect(urls, name string, opts ...nats.Option) (*nats.Conn, error) {
	opts = append([]nats.Option{nats.Name("skywasm " + name), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond)}, opts...)
	nc, err := nats.Connect(urls, opts...)
	if err != nil {
		return nil, fmt.Errorf("cluster: connecting to NATS: %w", err)
	}
	return nc, nil
}
