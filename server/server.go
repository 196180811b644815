// Package server assembles skywasm's planes into one HTTP handler: the
// signaling socket, the HTTP API, health and metrics, and the static SDK and
// examples. It holds wiring only; each plane lives in its own package.
package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/skywasm/skywasm/internal/iplimit"
	"github.com/skywasm/skywasm/server/api"
	"github.com/skywasm/skywasm/server/config"
	"github.com/skywasm/skywasm/server/metrics"
	"github.com/skywasm/skywasm/server/routing"
	"github.com/skywasm/skywasm/server/sfu"
	"github.com/skywasm/skywasm/server/signaling"
	"github.com/skywasm/skywasm/server/static"
	"github.com/skywasm/skywasm/server/turn"
)

// Options configures a Server.
type Options struct {
	// Config holds the apps. Required.
	Config *config.Config
	// Logger receives the logs; nil discards them.
	Logger *slog.Logger
	// Dev serves "/" as a redirect to the examples, and the examples' key
	// script (static.KeyScriptPath) giving the first app's key.
	Dev bool
	// StaticDir is the project root: the SDK's files in its js/ are served
	// at /sdk/ and its examples/ at /examples/, each if it exists when New
	// runs. Neither is served beyond its directory, not even through a
	// symlink. "" serves neither.
	StaticDir string
	// Router reaches peers; nil means a routing.Local of this server's own.
	Router routing.Router
	// Ready, if set, gates /healthz: 503 while it reports false, as a
	// cluster node does without its NATS connection.
	Ready func() bool
	// Handlers are mounted beside the others, by ServeMux pattern (the
	// cluster's GET /v1/dispatch).
	Handlers map[string]http.Handler
	// Signaling, if set, adjusts the signaling plane's timings and limits;
	// its Apps, Router, Logger, Metrics and SFU are filled in here.
	Signaling *signaling.Config
	// SFU, if set, starts the media server of sfu rooms with this
	// configuration; its Router, Logger and Metrics are filled in here.
	// With nil, sfu rooms have membership and room data only.
	SFU *sfu.Config
	// PinSFU, if set, puts the SFU behind what it returns, as a cluster
	// node does (cluster.Router.PinSFU): each sfu room is served by the
	// SFU of one node, whichever node its members are connected to.
	PinSFU func(local routing.SFU) (routing.SFU, error)
	// Collectors are registered on /metrics beside the planes' own (a
	// cluster node's).
	Collectors []prometheus.Collector
	// HTTP, if set, replaces DefaultHTTPTimeouts for HTTPServer.
	HTTP *HTTPTimeouts
	// TURN, if set, starts the embedded TURN server with this
	// configuration, and OPEN hands its credentials to the peers of apps
	// with the turn permission; its Apps, Logger and Metrics are filled in
	// here. With nil, OPEN carries no TURN credential.
	TURN *turn.Config
}

// HTTPTimeouts bound the connections of the HTTP server. A WebSocket is
// hijacked from net/http, which clears its deadlines, and keeps only the
// signaling plane's own (signaling.Config's IdleTimeout and WriteTimeout).
type HTTPTimeouts struct {
	// ReadHeader bounds reading a request's headers (slowloris).
	ReadHeader time.Duration
	// Idle closes a keep-alive connection with no request for this long.
	Idle time.Duration
	// Write bounds one response, from the end of its request's headers:
	// sized so that sdk.wasm (8 MB) reaches a client at 1 MiB/s with room
	// to spare, and a client that stops reading lets go of its connection.
	Write time.Duration
}

// DefaultHTTPTimeouts returns 10 s for headers, 60 s idle, 60 s a response.
func DefaultHTTPTimeouts() HTTPTimeouts {
	return HTTPTimeouts{ReadHeader: 10 * time.Second, Idle: 60 * time.Second, Write: 60 * time.Second}
}

// Validate reports the first timeout that is not positive.
func (t HTTPTimeouts) Validate() error {
	switch {
	case t.ReadHeader <= 0:
		return errors.New("server: HTTPTimeouts.ReadHeader must be positive")
	case t.Idle <= 0:
		return errors.New("server: HTTPTimeouts.Idle must be positive")
	case t.Write <= 0:
		return errors.New("server: HTTPTimeouts.Write must be positive")
	}
	return nil
}

// Server is the whole platform behind one http.Handler.
type Server struct {
	handler   http.Handler
	timeouts  HTTPTimeouts
	signaling *signaling.Server
	sfu       *sfu.SFU
	turn      *turn.Server
	examples  bool
}

// New assembles a Server.
func New(opts Options) (*Server, error) {
	if opts.Config == nil {
		return nil, errors.New("server: Options.Config is nil")
	}
	if err := opts.Config.Validate(); err != nil {
		return nil, err
	}
	timeouts := DefaultHTTPTimeouts()
	if opts.HTTP != nil {
		timeouts = *opts.HTTP
	}
	if err := timeouts.Validate(); err != nil {
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
	var media *sfu.SFU
	if opts.SFU != nil {
		fcfg := *opts.SFU
		fcfg.Router, fcfg.Logger, fcfg.Metrics = router, logger.With("plane", "sfu"), metrics.NewSFU(reg)
		var err error
		if media, err = sfu.New(fcfg); err != nil {
			return nil, fmt.Errorf("failed to start the SFU: %w", err)
		}
		scfg.SFU = media // only when set: a nil *sfu.SFU is not a nil interface
		if opts.PinSFU != nil {
			if scfg.SFU, err = opts.PinSFU(media); err != nil {
				_ = media.Close()
				return nil, fmt.Errorf("failed to pin the SFU to the cluster: %w", err)
			}
		}
	}
	for _, c := range opts.Collectors {
		if err := reg.Register(c); err != nil {
			if media != nil {
				_ = media.Close()
			}
			return nil, fmt.Errorf("failed to register a collector: %w", err)
		}
	}
	var relay *turn.Server
	if opts.TURN != nil {
		tcfg := *opts.TURN
		tcfg.Apps, tcfg.Logger, tcfg.Metrics = opts.Config, logger.With("plane", "turn"), metrics.NewTURN(reg)
		var err error
		if relay, err = turn.New(tcfg); err != nil {
			if media != nil {
				_ = media.Close()
			}
			return nil, fmt.Errorf("failed to start the TURN server: %w", err)
		}
		scfg.TURN = relay
	}
	sig, err := signaling.New(scfg)
	if err != nil {
		if media != nil {
			_ = media.Close()
		}
		if relay != nil {
			_ = relay.Close()
		}
		return nil, err
	}

	mux := http.NewServeMux()
	perIP := newIPLimiter(opts.Config.Network)
	mux.Handle("GET "+signaling.Path, limitIP(perIP, sig, true))
	apiHandler := limitIP(perIP, api.New(opts.Config, router), false)
	mux.Handle(api.PeersPath, apiHandler)
	mux.Handle(api.ExistsPath, apiHandler)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if opts.Ready != nil && !opts.Ready() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready\n"))
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	for pattern, h := range opts.Handlers {
		mux.Handle(pattern, h)
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	filesCfg := static.Config{Logger: logger.With("plane", "static")}
	if opts.StaticDir != "" {
		filesCfg.SDK = openTree(logger, filepath.Join(opts.StaticDir, "js"))
		filesCfg.Examples = openTree(logger, filepath.Join(opts.StaticDir, "examples"))
	}
	if opts.Dev {
		filesCfg.DevKey = opts.Config.Apps[0].Key
	}
	files := static.New(filesCfg)
	if filesCfg.SDK != nil {
		mux.Handle("GET "+static.SDKPath, files)
	}
	examples := filesCfg.Examples != nil
	if examples {
		mux.Handle("GET "+static.ExamplesPath, files)
	}
	if opts.Dev && examples {
		mux.Handle("GET /{$}", http.RedirectHandler(static.ExamplesPath, http.StatusFound))
	} else if opts.Dev {
		mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			fmt.Fprintf(w, "skywasm is running in dev mode.\nSignaling: ws://%s%s?key=%s\nProtocol: docs/protocol.md\n",
				r.Host, signaling.Path, opts.Config.Apps[0].Key)
		})
	}
	return &Server{handler: mux, timeouts: timeouts, signaling: sig, sfu: media, turn: relay, examples: examples}, nil
}

// newIPLimiter bounds each client address as n says, with the defaults
// for what n leaves at zero (a Config built by hand).
func newIPLimiter(n config.Network) *iplimit.Limiter {
	d, p := config.DefaultPerIP(), n.PerIP
	if p.Connections == 0 {
		p.Connections = d.Connections
	}
	if p.HandshakesPerSecond == 0 {
		p.HandshakesPerSecond = d.HandshakesPerSecond
	}
	if p.HandshakeBurst == 0 {
		p.HandshakeBurst = d.HandshakeBurst
	}
	return iplimit.New(iplimit.Config{
		MaxConns: p.Connections, Rate: float64(p.HandshakesPerSecond), Burst: p.HandshakeBurst,
		TrustedProxies: n.TrustedPrefixes(),
	}, nil)
}

// limitIP serves h to a client address within its limits, and answers 429
// past them, before any WebSocket upgrade: a signaling socket holds its
// place for as long as it is open. With socket, h is the signaling plane,
// which serves its socket past ServeHTTP and releases the place itself.
func limitIP(l *iplimit.Limiter, h http.Handler, socket bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := l.ClientIP(r)
		why, ok := l.Acquire(ip)
		if !ok {
			w.Header().Set("Retry-After", "1")
			msg := "too many connections from your address"
			if why == iplimit.TooFast {
				msg = "too many new connections a second from your address"
			}
			http.Error(w, msg, http.StatusTooManyRequests)
			return
		}
		if socket {
			h.ServeHTTP(w, signaling.KeepUntilClosed(r, func() { l.Release(ip) }))
			return
		}
		defer l.Release(ip)
		h.ServeHTTP(w, r)
	})
}

// openTree returns dir as a file system that nothing, not even a symlink,
// leaves, or nil if dir is not a directory. Its os.Root is not closed by
// Shutdown, as requests may come until the very end of one; its finalizer
// closes it once the Server is gone.
func openTree(logger *slog.Logger, dir string) fs.FS {
	root, err := os.OpenRoot(dir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			logger.Warn("static directory not served", "dir", dir, "err", err)
		}
		return nil
	}
	return root.FS()
}

// ExamplesPath is the path the example pages are served at, or "" if
// Options.StaticDir has no examples.
func (s *Server) ExamplesPath() string {
	if !s.examples {
		return ""
	}
	return static.ExamplesPath
}

// Handler returns the HTTP handler of every plane.
func (s *Server) Handler() http.Handler { return s.handler }

// HTTPServer returns an http.Server of Handler with the HTTP timeouts;
// errorLog may be nil. The caller sets its TLSConfig and serves it.
func (s *Server) HTTPServer(errorLog *log.Logger) *http.Server {
	return &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.timeouts.ReadHeader,
		IdleTimeout:       s.timeouts.Idle,
		WriteTimeout:      s.timeouts.Write,
		ErrorLog:          errorLog,
	}
}

// SFUAddr returns the address of the SFU's UDP socket, or nil without an
// SFU.
func (s *Server) SFUAddr() net.Addr {
	if s.sfu == nil {
		return nil
	}
	return s.sfu.Addr()
}

// TURN returns the embedded TURN server, or nil without one.
func (s *Server) TURN() *turn.Server { return s.turn }

// TURNURLs returns the URLs of the embedded TURN server, or nil.
func (s *Server) TURNURLs() []string {
	if s.turn == nil {
		return nil
	}
	return s.turn.URLs()
}

// Shutdown closes every signaling socket with 1001 (going away) and waits
// for their peers to end, until ctx ends, then closes the SFU's
// connections and socket and the TURN server. The caller shuts its
// http.Server down too.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.signaling.Shutdown(ctx)
	if s.sfu != nil {
		// Close waits for nothing remote: pion ends its connections
		// locally, so it needs no share of ctx.
		if cerr := s.sfu.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("failed to close the SFU: %w", cerr)
		}
	}
	if s.turn != nil {
		if cerr := s.turn.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("failed to close the TURN server: %w", cerr)
		}
	}
	return err
}
