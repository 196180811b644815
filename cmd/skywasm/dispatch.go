package main

import (
	"net/http"

	"github.com/skywasm/skywasm/server/cluster"
	"github.com/skywasm/skywasm/server/config"
)

// dispatchHandler is GET /v1/dispatch: a cluster node's dispatcher, or on
// a single server a 404, which the SDK takes for "connect to this server".
// Either way a page of one of the key's app's domains may read the answer:
// the SDK asks with fetch from the page, which is often on another origin
// than the server, and without CORS the browser would hide even the 404
// and print an error in the page's console.
func dispatchHandler(cfg *config.Config, dispatcher http.Handler) http.Handler {
	if dispatcher == nil {
		dispatcher = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "not a cluster: connect to this server", http.StatusNotFound)
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
