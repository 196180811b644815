package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/skywasm/skywasm/server"
	"github.com/skywasm/skywasm/server/config"
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
}

func (cl *cli) serveFlags() (*flagSet, *serveOptions) {
	o := &serveOptions{static: ".", level: levelFlag{slog.LevelInfo}}
	fs := newFlagSet("serve", "[flags]", `Runs the signaling server until SIGINT or SIGTERM. Without -config it runs in
dev mode: one app with a fresh API key, printed at start and given to the example
pages by /examples/_shared/key.js, for pages on localhost.`, cl.stderr)
	fs.StringVar(&o.addr, "addr", "", "listen on `host:port` (default: the config's addr, else "+config.DevAddr+")")
	fs.StringVar(&o.config, "config", "", "read the YAML config `file`; without it, dev mode")
	fs.StringVar(&o.static, "static", o.static, "project root `dir`: serve the SDK's files from its js/ at /sdk/ and its examples/ at /examples/; empty disables")
	fs.Var(&o.level, "log-level", "log `level`: debug, info (the default), warn or error")
	fs.bindEnv("addr", "SKYWASM_ADDR")
	fs.bindEnv("config", "SKYWASM_CONFIG")
	fs.bindEnv("static", "SKYWASM_STATIC")
	fs.bindEnv("log-level", "SKYWASM_LOG_LEVEL")
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

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("failed to listen: %w", err)
	}
	srv, err := server.New(server.Options{Config: cfg, Logger: logger, Dev: dev, StaticDir: o.static})
	if err != nil {
		ln.Close()
		return fmt.Errorf("failed to create server: %w", err)
	}
	httpSrv := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- httpSrv.Serve(ln) }()

	url := listenURL(addr, ln.Addr())
	logger.Info("listening", "url", url, "dev", dev)
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

// listenURL is the URL to show for a server asked to listen on addr and
// listening on ln: addr's host, or localhost for a wildcard, and ln's port
// (which differs from addr's for port 0).
func listenURL(addr string, ln net.Addr) string {
	host, _, _ := net.SplitHostPort(addr)
	_, port, _ := net.SplitHostPort(ln.String())
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}
