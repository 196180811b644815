package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/skywasm/skywasm/server"
	"github.com/skywasm/skywasm/server/config"
	"github.com/skywasm/skywasm/server/sfu"
	"github.com/skywasm/skywasm/server/signaling"
	"github.com/skywasm/skywasm/server/turn"
)

const (
	// shutdownBudget is how long a graceful shutdown may take; serve returns
	// within shutdownBudget+shutdownGrace of a signal even if it has not
	// finished.
	shutdownBudget = 4 * time.Second
	shutdownGrace  = 500 * time.Millisecond
)

type serveOptions struct {
	addr, config, static string
	level                levelFlag
	// sfuUDP is the SFU's UDP host:port; "" means the listener's host and
	// actual port. sfuPublic is a comma-separated list of IPs.
	sfuUDP, sfuPublic string
	// tlsCert and tlsKey are PEM files; with both, HTTPS, WSS and turns:.
	tlsCert, tlsKey string
	// turnAddr is the TURN server's UDP and TCP host:port, "off" for none
	// and "" for the default (see turnAddrs); turnTLS is its turns: port.
	// turnRelayIP, turnPublicIP and turnHost are what its allocations bind
	// to, what they advertise and the host in its URLs. turnAllow lists the
	// peer address prefixes relayed to despite being private or loopback.
	turnAddr, turnTLS, turnRelayIP, turnPublicIP, turnHost, turnAllow string
	// frameBudget is signaling's LargeFrameBudget, 0 for its default;
	// turnMaxAlloc and turnMaxAllocIP the TURN server's caps, 0 for theirs;
	// turnConnsIP and turnHandshakesIP bound one address's TCP and TLS
	// connections to TURN, 0 for the file's network.turnPerIP.
	frameBudget                                                                   sizeFlag
	turnMaxAlloc, turnMaxAllocIP, turnMaxAllocPeer, turnConnsIP, turnHandshakesIP int
	// cluster holds the -nats* flags; with none of them set the node runs alone.
	cluster clusterOptions
}

func (cl *cli) serveFlags() (*flagSet, *serveOptions) {
	o := &serveOptions{static: ".", level: levelFlag{slog.LevelInfo}}
	fs := newFlagSet("serve", "[flags]", `Runs the signaling server and the SFU until SIGINT or SIGTERM. Without -config it runs in
dev mode: one app with a fresh API key, printed at start and given to the example
pages by /examples/_shared/key.js, for pages on localhost.`, cl.stderr)
	fs.StringVar(&o.addr, "addr", "", "listen on `host:port` (default: the config's addr, else "+config.DevAddr+")")
	fs.StringVar(&o.config, "config", "", "read the YAML config `file`; without it, dev mode")
	fs.StringVar(&o.static, "static", o.static, "project root `dir`: serve the SDK's files from its js/ at /sdk/ and its examples/ at /examples/; empty disables")
	fs.Var(&o.level, "log-level", "log `level`: debug, info (the default), warn or error")
	fs.StringVar(&o.sfuUDP, "sfu-udp", "", "the SFU's UDP socket, `host:port`, for every participant's media (default: the listen address's host and port, as UDP)")
	fs.StringVar(&o.sfuPublic, "sfu-public", "", "advertise these `ip[,ip]` in the SFU's ICE candidates instead of the local addresses, behind a 1:1 NAT")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "serve HTTPS and WSS (and TURN over TLS) with this PEM certificate `file`, reloaded when it changes; needs -tls-key")
	fs.StringVar(&o.tlsKey, "tls-key", "", "the PEM private key `file` of -tls-cert")
	fs.StringVar(&o.turnAddr, "turn-addr", "", "the TURN server's UDP and TCP `host:port`, or off (default: the listen host, port 3478; port 0 when listening on port 0)")
	fs.StringVar(&o.turnTLS, "turn-tls-addr", "", "the TURN server's TLS (turns:) `host:port` (default with -tls-cert: the TURN host, port 5349), or off")
	fs.StringVar(&o.turnRelayIP, "turn-relay-ip", "", "the local `ip` relay allocations bind to (default: the TURN listener's IP)")
	fs.StringVar(&o.turnPublicIP, "turn-public-ip", "", "advertise this `ip` as the relay address instead of -turn-relay-ip, behind a 1:1 NAT")
	fs.StringVar(&o.turnHost, "turn-host", "", "the `host` name put in the TURN URLs given to peers; turns: needs the certificate's name (default: the TURN listener's IP)")
	fs.StringVar(&o.turnAllow, "turn-allow-peers", "", "relay to these `prefixes` (CIDR, comma-separated) although loopback or private; in dev mode on loopback the default is 127.0.0.0/8,::1/128")
	fs.Var(&o.frameBudget, "frame-budget", "bound the memory of signaling frames in flight across the server (those over 1 MiB, read or queued, and the heads of those over 64 KiB being read) to this `size` (e.g. 2GiB); past it such a frame is dropped with ERROR signaling-limited (default: a quarter of the memory limit or of the machine's memory)")
	fs.IntVar(&o.turnMaxAlloc, "turn-max-allocations", 0, "the most live TURN allocations of the server, each a socket (default: a quarter of the file-descriptor limit)")
	fs.IntVar(&o.turnMaxAllocIP, "turn-max-allocations-per-ip", 0, fmt.Sprintf("the most live TURN allocations from one client address (default %d)", turn.DefaultMaxAllocationsPerIP))
	fs.IntVar(&o.turnMaxAllocPeer, "turn-max-allocations-per-peer", 0, fmt.Sprintf("the most live TURN allocations of one peer ID: a browser takes 3 a connection, one on each TURN URL (default %d)", turn.DefaultMaxAllocationsPerPeer))
	fs.IntVar(&o.turnConnsIP, "turn-conns-per-ip", 0, fmt.Sprintf("the most TURN TCP and TLS connections one client address holds at once (default: the config's network.turnPerIP.connections, else %d)", turn.DefaultMaxConnsPerIP))
	fs.IntVar(&o.turnHandshakesIP, "turn-handshakes-per-ip", 0, fmt.Sprintf("the most TURN TCP and TLS connections one client address opens a second (default: the config's network.turnPerIP.handshakesPerSecond, else %d)", turn.DefaultHandshakesPerIP))
	fs.bindEnv("addr", "SKYWASM_ADDR")
	fs.bindEnv("config", "SKYWASM_CONFIG")
	fs.bindEnv("static", "SKYWASM_STATIC")
	fs.bindEnv("log-level", "SKYWASM_LOG_LEVEL")
	fs.bindEnv("sfu-udp", "SKYWASM_SFU_UDP")
	fs.bindEnv("sfu-public", "SKYWASM_SFU_PUBLIC")
	fs.bindEnv("tls-cert", "SKYWASM_TLS_CERT")
	fs.bindEnv("tls-key", "SKYWASM_TLS_KEY")
	fs.bindEnv("turn-addr", "SKYWASM_TURN_ADDR")
	fs.bindEnv("turn-tls-addr", "SKYWASM_TURN_TLS_ADDR")
	fs.bindEnv("turn-relay-ip", "SKYWASM_TURN_RELAY_IP")
	fs.bindEnv("turn-public-ip", "SKYWASM_TURN_PUBLIC_IP")
	fs.bindEnv("turn-host", "SKYWASM_TURN_HOST")
	fs.bindEnv("turn-allow-peers", "SKYWASM_TURN_ALLOW_PEERS")
	fs.bindEnv("frame-budget", "SKYWASM_FRAME_BUDGET")
	fs.bindEnv("turn-max-allocations", "SKYWASM_TURN_MAX_ALLOCATIONS")
	fs.bindEnv("turn-max-allocations-per-ip", "SKYWASM_TURN_MAX_ALLOCATIONS_PER_IP")
	fs.bindEnv("turn-max-allocations-per-peer", "SKYWASM_TURN_MAX_ALLOCATIONS_PER_PEER")
	fs.bindEnv("turn-conns-per-ip", "SKYWASM_TURN_CONNS_PER_IP")
	fs.bindEnv("turn-handshakes-per-ip", "SKYWASM_TURN_HANDSHAKES_PER_IP")
	o.cluster.register(fs)
	return fs, o
}

// serve runs the server until ctx ends or a signal arrives.
func (cl *cli) serve(ctx context.Context, args []string) error {
	fs, o := cl.serveFlags()
	if err := fs.parse(cl.getenv, args); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(cl.stderr, &slog.HandlerOptions{Level: o.level.Level}))

	cfg, dev := (*config.Config)(nil), o.config == ""
	var err error
	if dev {
		cfg, err = config.Dev()
	} else {
		cfg, err = config.Load(o.config)
	}
	if err != nil {
		return err
	}
	addr := o.addr
	if addr == "" {
		addr = cfg.Addr
	}
	if addr == "" {
		addr = config.DevAddr
	}

	var certs *certFiles
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return fmt.Errorf("-tls-cert and -tls-key go together: give both or neither")
	}
	if o.tlsCert != "" {
		if certs, err = loadCert(o.tlsCert, o.tlsKey); err != nil {
			return err
		}
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("failed to listen: %w", err)
	}
	sfuCfg := sfu.DefaultConfig()
	sfuCfg.UDPAddr = sfuAddr(o.sfuUDP, addr, ln.Addr())
	if o.sfuPublic != "" {
		sfuCfg.PublicAddrs = splitList(o.sfuPublic)
	}
	// The node's admission limits: past them a new SFU participant gets
	// sfu-limited and the rooms' members are unaffected.
	sfuCfg.MaxParticipants, sfuCfg.MaxDownTracks = cfg.SFU.NodeLimits(runtime.NumCPU())
	sfuCfg.ShedLoad = cfg.SFU.Shedding()
	sfuCfg.BatchWrites = cfg.SFU.Batching()
	turnCfg, err := o.turnConfig(addr, ln.Addr(), dev, certs, cfg.Network.TURNPerIP)
	if errors.Is(err, errTURNWildcard) {
		logger.Warn(err.Error())
		err = nil
	}
	if err != nil {
		ln.Close()
		return err
	}
	sigCfg := signaling.DefaultConfig()
	if o.frameBudget.n != 0 {
		sigCfg.LargeFrameBudget = o.frameBudget.n
	}
	o.cluster.fill(cfg.Cluster)
	clusterNode, err := o.cluster.start(ctx, logger, listenURL(addr, ln.Addr(), certs != nil))
	if err != nil {
		ln.Close()
		return err
	}
	srvOpts := server.Options{Config: cfg, Logger: logger, Dev: dev, StaticDir: o.static, Signaling: &sigCfg, SFU: &sfuCfg, TURN: turnCfg}
	if clusterNode != nil {
		defer clusterNode.stop() // after the server: its peers release their claims through the node
		clusterNode.options(&srvOpts, cfg)
	} else {
		srvOpts.Handlers = map[string]http.Handler{dispatchPattern: dispatchHandler(cfg, nil)}
	}
	srv, err := server.New(srvOpts)
	if err != nil {
		ln.Close()
		return fmt.Errorf("failed to create server: %w", err)
	}
	httpSrv := srv.HTTPServer(slog.NewLogLogger(logger.Handler(), slog.LevelWarn))
	if certs != nil {
		httpSrv.TLSConfig = certs.config()
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() {
		if certs != nil {
			served <- httpSrv.ServeTLS(ln, "", "") // the certificate comes from TLSConfig
			return
		}
		served <- httpSrv.Serve(ln)
	}()

	url := listenURL(addr, ln.Addr(), certs != nil)
	logger.Info("listening", "url", url, "dev", dev, "sfuUDP", srv.SFUAddr().String(), "turn", strings.Join(srv.TURNURLs(), " "))
	fmt.Fprintf(cl.stdout, "skywasm: listening on %s\n", url)
	if dev {
		open := url + strings.TrimPrefix(srv.ExamplesPath(), "/")
		logger.Info("dev mode", "apiKey", cfg.Apps[0].Key)
		fmt.Fprintf(cl.stdout, "skywasm: dev mode — API key %s; open %s\n", cfg.Apps[0].Key, open)
	}
	if cl.ready != nil {
		cl.ready(url)
	}

	var serveErr error
	select {
	case <-ctx.Done():
		stop() // a second signal ends the process at once
		logger.Info("shutting down")
	case serveErr = <-served:
		serveErr = fmt.Errorf("failed to serve: %w", serveErr)
	}
	shutdown(context.WithoutCancel(ctx), logger, srv, httpSrv)
	if serveErr == nil {
		<-served // http.ErrServerClosed, now that Shutdown has begun
	}
	return serveErr
}

// shutdown closes the signaling sockets and the HTTP server side by side
// within shutdownBudget, then forces the HTTP server closed. It gives up
// waiting after shutdownBudget+shutdownGrace, so that a stuck component
// cannot keep the process from exiting.
func shutdown(ctx context.Context, logger *slog.Logger, srv *server.Server, httpSrv *http.Server) {
	ctx, cancel := context.WithTimeout(ctx, shutdownBudget)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := srv.Shutdown(ctx); err != nil {
			logger.Warn("signaling shutdown incomplete", "err", err)
		}
	})
	wg.Go(func() {
		if err := httpSrv.Shutdown(ctx); err != nil {
			logger.Warn("HTTP shutdown incomplete", "err", err)
			httpSrv.Close()
		}
	})
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(shutdownBudget + shutdownGrace):
		logger.Warn("shutdown did not finish in time; exiting anyway")
		httpSrv.Close()
	}
}

// sfuAddr is the SFU's UDP address: flag if set, else the host of the
// listen address asked for and the port actually listened on (which
// differs for port 0), so that one port number serves both.
func sfuAddr(flag, addr string, ln net.Addr) string {
	if flag != "" {
		return flag
	}
	host, _, _ := net.SplitHostPort(addr)
	_, port, _ := net.SplitHostPort(ln.String())
	return net.JoinHostPort(host, port)
}

// listenURL is the URL to show for a server asked to listen on addr and
// listening on ln: addr's host, or localhost for a wildcard, and ln's port
// (which differs from addr's for port 0).
func listenURL(addr string, ln net.Addr, secure bool) string {
	host, _, _ := net.SplitHostPort(addr)
	_, port, _ := net.SplitHostPort(ln.String())
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	scheme := "http://"
	if secure {
		scheme = "https://"
	}
	return scheme + net.JoinHostPort(host, port) + "/"
}

// splitList splits a comma-separated flag value, trimming spaces and
// dropping empty items.
func splitList(v string) []string {
	var items []string
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}
