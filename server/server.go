// Package server assembles skywasm's planes into one HTTP handler: the
// signaling socket, the HTTP API, health and metrics, and the static SDK and
// examples. It holds wiring only; each plane lives in its own package.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/skywasm/skywasm/server/api"
	"github.com/skywasm/skywasm/server/config"
	"github.com/skywasm/skywasm/server/metrics"
	"github.com/skywasm/skywasm/server/routing"
	"github.com/skywasm/skywasm/server/signaling"
)

// Options configures a Server.
type Options struct {
	// Config holds the apps. Required.
	Config *config.Config
	// Logger receives the logs; nil discards them.
	Logger *slog.Logger
	// Dev serves "/" as a redirect to the examples.
	Dev bool
	// StaticDir is the project root: its js/ is served at /sdk/ and its
	// examples/ at /examples/, each if it exists. "" serves neither.
	StaticDir string
	// Router reaches peers; nil means a routing.Local of this server's own.
	Router routing.Router
	// Signaling, if set, adjusts the signaling plane's timings and limits;
	// its Apps, Router, Logger and Metrics are filled in here.
	Signaling *signaling.Config
}

// Server is the whole platform behind one http.Handler.
type Server struct {
	handler   http.Handler
	signaling *signaling.Server
}

// New assembles a Server.
func New(opts Options) (*Server, error) {
	if opts.Config == nil {
		return nil, errors.New("server: Options.Config is nil")
	}
	if err := opts.Config.Validate(); err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	router := opts.Router
	if router == nil {
		router = routing.NewLocal()
	}
	reg, sigMetrics := metrics.New()
	scfg := signaling.DefaultConfig()
	if opts.Signaling != nil {
		scfg = *opts.Signaling
	}
	scfg.Apps, scfg.Router, scfg.Logger, scfg.Metrics = opts.Config, router, logger.With("plane", "signaling"), sigMetrics
	sig, err := signaling.New(scfg)
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.Handle("GET "+signaling.Path, sig)
	apiHandler := api.New(opts.Config, router)
	mux.Handle(api.PeersPath, apiHandler)
	mux.Handle(api.ExistsPath, apiHandler)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	examples := false
	if opts.StaticDir != "" {
		serveDir(mux, "/sdk/", filepath.Join(opts.StaticDir, "js"))
		examples = serveDir(mux, "/examples/", filepath.Join(opts.StaticDir, "examples"))
	}
	if opts.Dev && examples {
		mux.Handle("GET /{$}", http.RedirectHandler("/examples/", http.StatusFound))
	} else if opts.Dev {
		mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			fmt.Fprintf(w, "skywasm is running in dev mode.\nSignaling: ws://%s%s?key=%s\nProtocol: docs/protocol.md\n",
				r.Host, signaling.Path, opts.Config.Apps[0].Key)
		})
	}
	return &Server{handler: mux, signaling: sig}, nil
}

// serveDir serves dir at prefix if it exists, and says whether it does.
func serveDir(mux *http.ServeMux, prefix, dir string) bool {
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return false
	}
	mux.Handle("GET "+prefix, http.StripPrefix(prefix, http.FileServerFS(os.DirFS(dir))))
	return true
}

// Handler returns the HTTP handler of every plane.
func (s *Server) Handler() http.Handler { return s.handler }

// Shutdown closes every signaling socket with 1001 (going away) and waits
// for their peers to end, until ctx ends. The caller shuts its http.Server
// down too.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.signaling.Shutdown(ctx)
}
