package cluster

import (
	"encoding/json"
	"net/http"
)

// DispatchPath is where a node answers which nodes to connect to.
const DispatchPath = "/v1/dispatch"

// DispatchResponse is the dispatcher's answer: the live nodes' public
// URLs, least loaded first.
type DispatchResponse struct {
	Nodes []DispatchNode `json:"nodes"`
}

// DispatchNode is one live node in a DispatchResponse.
type DispatchNode struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	Load int    `json:"load"`
}

// Dispatcher answers GET DispatchPath?key=… for the apps known tells of:
// 400 without a key, 404 for an unknown one, 503 while the node is not
// ready.
func (r *Router) Dispatcher(known func(key string) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		key := req.URL.Query().Get("key")
		switch {
		case key == "":
			http.Error(w, "give ?key=", http.StatusBadRequest)
			return
		case !known(key):
			http.Error(w, "no such key", http.StatusNotFound)
			return
		case !r.Ready():
			http.Error(w, "the node has no NATS connection", http.StatusServiceUnavailable)
			return
		}
		resp := DispatchResponse{Nodes: []DispatchNode{}}
		for _, n := range r.Nodes() {
			if n.PublicURL != "" {
				resp.Nodes = append(resp.Nodes, DispatchNode{Name: n.Name, URL: n.PublicURL, Load: n.Load})
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(resp)
	})
}
