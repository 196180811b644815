// Package api serves the HTTP endpoints beside the signaling socket:
// listing a key's peers and asking whether one exists. It answers from the
// routing.Router, so it sees the peers of every server behind it.
package api

import (
	"encoding/json"
	"net/http"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/config"
	"github.com/skywasm/skywasm/server/routing"
)

// Paths of the endpoints, as net/http patterns.
const (
	PeersPath  = "/v1/apps/{key}/peers"
	ExistsPath = "/v1/apps/{key}/peers/{id}/exists"
)

// Handler serves the endpoints.
type Handler struct {
	apps   *config.Config
	router routing.Router
	mux    *http.ServeMux
}

// New returns a Handler for apps' keys.
func New(apps *config.Config, router routing.Router) *Handler {
	h := &Handler{apps: apps, router: router, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET "+PeersPath, h.peers)
	h.mux.HandleFunc("GET "+ExistsPath, h.exists)
	h.mux.HandleFunc("OPTIONS "+PeersPath, h.preflight)
	h.mux.HandleFunc("OPTIONS "+ExistsPath, h.preflight)
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// ErrorBody is the JSON body of a refusal.
type ErrorBody struct {
	Type    protocol.ErrorType `json:"type"`
	Message string             `json:"message"`
}

// ExistsBody is the JSON body of the exists endpoint.
type ExistsBody struct {
	Exists bool `json:"exists"`
}

func (h *Handler) peers(w http.ResponseWriter, r *http.Request) {
	app, ok := h.app(w, r)
	if !ok {
		return
	}
	if !app.Permissions.ListPeers {
		reply(w, http.StatusForbidden, ErrorBody{protocol.ErrList, "the app may not list its peers"})
		return
	}
	ids, err := h.router.Peers(r.Context(), app.Key)
	if err != nil {
		reply(w, http.StatusInternalServerError, ErrorBody{protocol.ErrServer, "could not list peers"})
		return
	}
	reply(w, http.StatusOK, ids)
}

func (h *Handler) exists(w http.ResponseWriter, r *http.Request) {
	app, ok := h.app(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if !protocol.ValidPeerID(id) {
		reply(w, http.StatusBadRequest, ErrorBody{protocol.ErrInvalidID, "not a valid peer ID"})
		return
	}
	found, err := h.router.Exists(r.Context(), app.Key, id)
	if err != nil {
		reply(w, http.StatusInternalServerError, ErrorBody{protocol.ErrServer, "could not look the peer up"})
		return
	}
	reply(w, http.StatusOK, ExistsBody{found})
}

func (h *Handler) preflight(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.app(w, r); ok {
		w.Header().Set("Access-Control-Allow-Methods", "GET, OPTIONS")
		w.Header().Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
	}
}

// app finds the request's app and checks its origin, setting CORS headers
// for an allowed one; it answers the request itself when it refuses.
func (h *Handler) app(w http.ResponseWriter, r *http.Request) (*config.App, bool) {
	app, ok := h.apps.App(r.PathValue("key"))
	if !ok {
		reply(w, http.StatusNotFound, ErrorBody{protocol.ErrInvalidKey, "unknown API key"})
		return nil, false
	}
	origin := r.Header.Get("Origin")
	if !app.AllowsOrigin(origin) {
		reply(w, http.StatusForbidden, ErrorBody{protocol.ErrInvalidDomain, "origin is not among the app's domains"})
		return nil, false
	}
	if origin != "" {
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Add("Vary", "Origin")
	}
	return app, true
}

func reply(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
