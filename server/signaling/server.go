package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/coder/websocket"

	"github.com/skywasm/skywasm/internal/poller"
	"github.com/skywasm/skywasm/internal/wheel"
	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/config"
	"github.com/skywasm/skywasm/server/routing"
)

// Path is where the signaling WebSocket is served.
const Path = "/v1/signaling"

// Server accepts signaling sockets. Its ServeHTTP serves Path.
type Server struct {
	cfg   Config
	log   *slog.Logger
	wheel *wheel.Wheel // every socket's pings, idle checks and write deadlines
	large budget       // large frames in flight
	// poller wakes parked sockets (see session.park).
	poller *poller.Poller

	mu       sync.Mutex
	peers    map[peerKey]*peer     // this server's peers, for reclaim
	sessions map[*session]struct{} // open sockets, for Shutdown
	closing  bool
	// shuttingDown is closing, readable without mu: once set, no peer
	// that ends is treated as gone (see endShutdown).
	shuttingDown atomic.Bool
	wg           sync.WaitGroup // one per ServeHTTP in progress, one per socket served
}

type peerKey struct{ key, id string }

// New returns a Server.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	srv := &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		wheel:    wheel.New(cfg.tick(), wheelSlots(cfg)),
		poller:   poller.New(),
		peers:    make(map[peerKey]*peer),
		sessions: make(map[*session]struct{}),
	}
	srv.large.limit = cfg.LargeFrameBudget
	return srv, nil
}

// wheelSlots sizes the wheel so that a ping interval, the longest of its
// usual delays, fits in one turn.
func wheelSlots(cfg Config) int {
	return min(4096, int(cfg.PingInterval/cfg.tick())+2)
}

// request is what a client asks for in the query of its WebSocket URL.
type request struct {
	app        *config.App
	peerID     string
	token      string
	credential *protocol.Credential
}

// ServeHTTP accepts a signaling socket. Every refusal that can be told to a
// browser is: the socket is accepted, an ERROR sent, then it is closed with a
// code from protocol (a browser cannot read an HTTP error on a WebSocket).
//
// It returns as soon as the socket is set up, and serves it on a goroutine
// of its own: net/http's goroutine, with the request, its headers and
// context, would otherwise stay for as long as the socket, for nothing. A
// handler in front that holds something for as long as the socket (a place
// in a per-address limit) passes its release with KeepUntilClosed.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	release, _ := r.Context().Value(releaseKey{}).(func())
	defer func() {
		if release != nil {
			release()
		}
	}()
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		http.Error(w, "server is shutting down", http.StatusServiceUnavailable)
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	// The app's domains are checked below, where the refusal can be sent
	// as an ERROR; Accept's own check would only answer 403.
	sess := newSession(s)
	conn, err := websocket.Accept(smallBuffers{w, sess}, r, &websocket.AcceptOptions{
		InsecureSkipVerify: true,
		OnPongReceived:     sess.pong,
		OnPingReceived:     sess.pinged,
	})
	if err != nil {
		s.log.Debug("websocket upgrade failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	conn.SetReadLimit(protocol.MaxFrameSize)
	// The request's context ends with ServeHTTP.
	ctx := context.WithoutCancel(r.Context())

	req, perr, code := s.check(r)
	if perr != nil {
		s.refuse(ctx, conn, perr, code)
		return
	}
	p, perr, code := s.claim(ctx, req)
	if perr != nil {
		s.refuse(ctx, conn, perr, code)
		return
	}
	sess.init(p, conn)
	if !s.track(sess) {
		conn.Close(websocket.StatusGoingAway, "server is shutting down")
		p.end(endShutdown)
		return
	}
	s.log.Debug("peer connected", "key", req.app.Key, "peer", p.id)
	s.wg.Add(1)
	go sess.serve(context.Background(), release)
	release = nil
}

// serve runs sess on its own goroutine; release, if set, is called once
// the socket has ended (session.finish), on whichever goroutine ends it.
func (sess *session) serve(ctx context.Context, release func()) {
	sess.release = release
	sess.run(ctx)
}

type releaseKey struct{}

// KeepUntilClosed returns r carrying release, which the Server calls once
// the socket it accepts for r has ended, or before ServeHTTP returns if it
// accepts none. The caller hands release over: it must not call it.
func KeepUntilClosed(r *http.Request, release func()) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), releaseKey{}, release))
}

// check reads the query and checks the key, origin, ID and credential.
func (s *Server) check(r *http.Request) (request, *protocol.ProtocolError, websocket.StatusCode) {
	q := r.URL.Query()
	app, ok := s.cfg.Apps.App(q.Get("key"))
	if !ok {
		return request{}, protocol.Errorf(protocol.ErrInvalidKey, "unknown API key"), protocol.CloseInvalidKey
	}
	if !app.AllowsOrigin(r.Header.Get("Origin")) {
		return request{}, protocol.Errorf(protocol.ErrInvalidDomain, "origin %q is not among the app's domains", r.Header.Get("Origin")), protocol.CloseInvalidDomain
	}
	req := request{app: app, peerID: q.Get("peerId"), token: q.Get("token")}
	if req.peerID != "" && !protocol.ValidPeerID(req.peerID) {
		return request{}, protocol.Errorf(protocol.ErrInvalidID, "peer ID must match ^[A-Za-z0-9_-]+(?:[ _-][A-Za-z0-9]+)*$ and be at most %d characters", protocol.MaxPeerIDLength), protocol.CloseInvalidID
	}
	if req.token != "" && !protocol.ValidToken(req.token) {
		return request{}, protocol.Errorf(protocol.ErrInvalidMessage, "token must be 1 to %d characters of [A-Za-z0-9_-]", protocol.MaxTokenLength), websocket.StatusPolicyViolation
	}
	if !app.Permissions.PeerAuthentication {
		return req, nil, 0 // a credential the app does not ask for is not even read
	}
	raw := q.Get("credential")
	var c protocol.Credential
	switch {
	case raw == "":
		return request{}, protocol.Errorf(protocol.ErrAuthentication, "the app requires a credential"), protocol.CloseAuthFailed
	case len(raw) > 1024 || json.Unmarshal([]byte(raw), &c) != nil:
		return request{}, protocol.Errorf(protocol.ErrAuthentication, "credential is not a JSON object {timestamp, ttl, authToken}"), protocol.CloseAuthFailed
	case req.peerID == "":
		return request{}, protocol.Errorf(protocol.ErrAuthentication, "a credential is for a peer ID chosen by the app: give peerId"), protocol.CloseAuthFailed
	}
	if err := c.Verify(app.Secret, req.peerID, s.cfg.Now()); err != nil {
		return request{}, protocol.Errorf(protocol.ErrAuthentication, "%v", err), protocol.CloseAuthFailed
	}
	req.credential = &c
	return req, nil, 0
}

// claim finds or makes the peer for req: the same token reattaches to this
// server's peer of that ID, a free ID is claimed through the Router.
func (s *Server) claim(ctx context.Context, req request) (*peer, *protocol.ProtocolError, websocket.StatusCode) {
	if req.peerID != "" && req.token != "" {
		s.mu.Lock()
		p := s.peers[peerKey{req.app.Key, req.peerID}]
		s.mu.Unlock()
		if p != nil && p.token == req.token && p.reclaim() {
			p.setCredential(req.credential)
			return p, nil, 0
		}
	}
	for range 5 { // a generated ID collides once in 62^16 tries
		id := req.peerID
		if id == "" {
			id = protocol.NewPeerID()
		}
		p := newPeer(s, req.app, id, req.token)
		err := s.cfg.Router.Claim(ctx, routing.Claim{Key: req.app.Key, ID: id, Token: req.token, MaxPeers: req.app.Limits.MaxPeers}, p)
		switch {
		case err == nil:
			s.mu.Lock()
			s.peers[peerKey{req.app.Key, id}] = p
			s.mu.Unlock()
			s.cfg.Metrics.Peers.Inc()
			p.setCredential(req.credential)
			return p, nil, 0
		case errors.Is(err, routing.ErrIDTaken) && req.peerID == "":
			continue
		case errors.Is(err, routing.ErrIDTaken):
			return nil, protocol.Errorf(protocol.ErrUnavailableID, "peer ID %q is in use", id), protocol.CloseUnavailableID
		case errors.Is(err, routing.ErrPeerLimit):
			return nil, protocol.Errorf(protocol.ErrSignalingLimited, "the app has its maximum of %d peers", req.app.Limits.MaxPeers), protocol.ClosePeerLimit
		default:
			s.log.Error("claiming a peer ID failed", "key", req.app.Key, "err", err)
			return nil, protocol.Errorf(protocol.ErrServer, "could not claim a peer ID"), websocket.StatusInternalError
		}
	}
	return nil, protocol.Errorf(protocol.ErrServer, "could not find a free peer ID"), websocket.StatusInternalError
}

// refuse sends an ERROR and closes a socket that never got OPEN.
func (s *Server) refuse(ctx context.Context, conn *websocket.Conn, perr *protocol.ProtocolError, code websocket.StatusCode) {
	s.cfg.Metrics.Rejected.WithLabelValues(string(perr.Type)).Inc()
	s.cfg.Metrics.Errors.WithLabelValues(string(perr.Type)).Inc()
	s.log.Info("connection refused", "type", perr.Type, "reason", perr.Message)
	if frame, err := protocol.Marshal(protocol.Error, protocol.ErrorPayload{Type: perr.Type, Message: perr.Message}); err == nil {
		wctx, cancel := context.WithTimeout(ctx, s.cfg.WriteTimeout)
		_ = conn.Write(wctx, websocket.MessageText, frame)
		cancel()
	}
	conn.Close(code, string(perr.Type))
}

func (s *Server) track(sess *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.sessions[sess] = struct{}{}
	s.cfg.Metrics.Connections.Inc()
	return true
}

func (s *Server) untrack(sess *session) {
	s.mu.Lock()
	delete(s.sessions, sess)
	s.mu.Unlock()
	s.cfg.Metrics.Connections.Dec()
}

// forget drops a peer from this server's table once it is gone.
func (s *Server) forget(p *peer) {
	s.mu.Lock()
	if s.peers[peerKey{p.key, p.id}] == p {
		delete(s.peers, peerKey{p.key, p.id})
	}
	s.mu.Unlock()
	s.cfg.Metrics.Peers.Dec()
}

// Shutdown refuses new sockets, closes every open one with 1001 (going
// away), ends their peers, and waits for them until ctx ends.
//
// No peer is treated as gone: the peers are expected back within their
// reclaim window, here after a restart or on another node, so Shutdown
// sends no LEAVE and no ROOM_USER_LEAVE, and their connections to each
// other, which need no signaling once established, keep running. The flag
// is set before the first socket is told, so that a peer whose socket ends
// first cannot announce its departure to one whose socket is still open.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shuttingDown.Store(true)
	s.closing = true
	open := make([]*session, 0, len(s.sessions))
	for sess := range s.sessions {
		open = append(open, sess)
	}
	s.mu.Unlock()
	for _, sess := range open {
		sess.close(websocket.StatusGoingAway, "server is shutting down", endShutdown, nil)
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("signaling shutdown: %w", ctx.Err())
	}
	// Peers within their reclaim window have no socket to close.
	s.mu.Lock()
	detached := make([]*peer, 0, len(s.peers))
	for _, p := range s.peers {
		detached = append(detached, p)
	}
	s.mu.Unlock()
	for _, p := range detached {
		p.end(endShutdown)
	}
	s.large.stop()
	return nil
}
