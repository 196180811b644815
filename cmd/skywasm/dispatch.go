package main

import (
	"net/http"

	"github.com/skywasm/skywasm/server/cluster"
	"github.com/skywasm/skywasm/server/config"
)

// dispatchHandler is GET /v1/dispatch: a cluster node's dispatcher, or on
// a single server an empty list of nodes, which the SDK takes for "connect
// to this server" (as it takes a 404 from a server that predates the
// dispatcher; a 404 would put an error in every page's console). Either way
// a page of one of the key's app's domains may read the answer: the SDK
// asks with fetch from the page, which is often on another origin than the
// server, and without CORS the browser hides the answer and prints an
// error.
func dispatchHandler(cfg *config.Config, dispatcher http.Handler) http.Handler {
	if dispatcher == nil {
		dispatcher = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			_, _ = w.Write([]byte(`{"nodes":[]}` + "\n"))
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" {
			// As the HTTP API does: the origin itself, never "*".
			if app, ok := cfg.App(r.URL.Query().Get("key")); ok && app.AllowsOrigin(origin) {
				w.Header().Set("Access-Control-Allow-Origin", origin)
			}
			w.Header().Add("Vary", "Origin")
		}
		dispatcher.ServeHTTP(w, r)
	})
}

// dispatchPattern is where dispatchHandler is mounted.
const dispatchPattern = "GET " + cluster.DispatchPath
