package turn

import (
	"net"

	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"
)

// authenticate is pion's AuthHandler, called for every request that
// carries credentials (Allocate, Refresh, CreatePermission, ChannelBind).
// It returns the key pion checks the message integrity with, derived from
// the password the username should have; pion then refuses a wrong
// password itself and reports it to onAuth. The user ID, "<key>:<peerId>",
// is what quotas count and what ties later requests to an allocation: it
// stays the same when a client comes back with a fresh credential.
func (s *Server) authenticate(ra *turn.RequestAttributes) (userID string, key []byte, ok bool) {
	expires, apiKey, peerID, err := ParseUsername(ra.Username)
	if err != nil {
		s.refuse(reasonMalformed, "username", ra.Username, "client", ra.SrcAddr)
		return "", nil, false
	}
	app, found := s.cfg.Apps.App(apiKey)
	if !found {
		s.refuse(reasonUnknownApp, "username", ra.Username, "client", ra.SrcAddr)
		return "", nil, false
	}
	if !app.Permissions.TURN || app.Secret == "" {
		s.refuse(reasonNoPermission, "username", ra.Username, "client", ra.SrcAddr)
		return "", nil, false
	}
	// Only a new allocation needs a live credential: refreshing one made
	// in time must go on working, or a call would be cut when the
	// credential it started with expires.
	if ra.Method == stun.MethodAllocate && !s.cfg.Now().Before(expires) {
		s.refuse(reasonExpired, "username", ra.Username, "client", ra.SrcAddr)
		return "", nil, false
	}
	userID = apiKey + ":" + peerID
	if s.isRevoked(userID) {
		s.refuse(reasonRevoked, "username", ra.Username, "client", ra.SrcAddr, "method", ra.Method)
		return "", nil, false
	}
	password := Password(app.Secret, ra.Username)
	return userID, turn.GenerateAuthKey(ra.Username, s.cfg.Realm, password), true
}

// onAuth learns the verdict of pion's message-integrity check. pion calls
// it only after authenticate accepted the username, so a false verdict is
// exactly a wrong password: a forged one, or a username edited (to another
// peer ID, a later expiry) after it was signed, or signed with another
// app's secret.
func (s *Server) onAuth(srcAddr, _ net.Addr, _, username, _ string, method string, verdict bool) {
	if !verdict {
		s.refuse(reasonIntegrity, "username", username, "client", srcAddr, "method", method)
	}
}

// quota is pion's QuotaHandler, asked before each allocation: it refuses
// (pion answers 486) when the peer has its fill of relay sockets. The
// relay address generator checks again under the same lock as it counts,
// for two Allocates of one peer that race past this check.
//
// It also refuses a client address with MaxAllocationsPerIP allocations,
// and any Allocate once the server has MaxAllocations. Those two are
// counted as allocations are created, so Allocates racing past this check
// may exceed them by the number in flight.
func (s *Server) quota(userID, _ string, srcAddr net.Addr) bool {
	ip := addrPort(srcAddr).Addr()
	s.mu.Lock()
	n, fromIP, total := s.perPeer[userID], s.perIP[ip], len(s.byTuple)
	s.mu.Unlock()
	switch {
	case n >= s.cfg.MaxAllocationsPerPeer:
		s.refuse(reasonQuota, "user", userID, "client", srcAddr, "allocations", n)
		return false
	case fromIP >= s.cfg.MaxAllocationsPerIP:
		s.refuse(reasonIPQuota, "user", userID, "client", srcAddr, "allocations", fromIP)
		return false
	case total >= s.cfg.MaxAllocations:
		s.refuse(reasonFull, "user", userID, "client", srcAddr, "allocations", total)
		return false
	}
	return true
}

// Revoke voids the TURN credentials of a peer that has left signaling: its
// live allocations are closed and its requests refused until a credential
// is issued to that peer ID again, so that a credential taken by a client
// that then leaves cannot farm allocations. It implements
// signaling.TURNRevoker.
func (s *Server) Revoke(apiKey, peerID string) {
	userID := apiKey + ":" + peerID
	now := s.cfg.Now()
	var gone []*relayConn
	s.mu.Lock()
	for k, until := range s.revoked { // forget what has expired anyway
		if !now.Before(until) {
			delete(s.revoked, k)
		}
	}
	s.revoked[userID] = now.Add(s.cfg.MaxCredentialTTL)
	for _, r := range s.relays {
		if r.user == userID {
			gone = append(gone, r)
		}
	}
	s.mu.Unlock()
	for _, r := range gone {
		_ = r.Close() // pion's reader sees it closed and deletes the allocation
	}
}

// isRevoked reports whether userID's credentials are void.
func (s *Server) isRevoked(userID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	until, ok := s.revoked[userID]
	return ok && s.cfg.Now().Before(until)
}

// unrevoke makes userID's credentials valid again, as a new one is issued.
func (s *Server) unrevoke(userID string) {
	s.mu.Lock()
	delete(s.revoked, userID)
	s.mu.Unlock()
}

// permit is pion's PermissionHandler, asked on CreatePermission and
// ChannelBind: may the client's allocation talk to peerIP at all?
func (s *Server) permit(clientAddr net.Addr, peerIP net.IP) bool {
	if s.peerAllowed(peerIP) {
		return true
	}
	s.refuse(reasonPeer, "peer", peerIP, "client", clientAddr)
	return false
}

// refuse counts and logs a refusal. args are slog attributes saying whose;
// never a password.
func (s *Server) refuse(reason string, args ...any) {
	s.refusals[reason].Inc()
	s.log.Info("turn: refused", append([]any{"reason", reason}, args...)...)
}

// tupleKey names an allocation by its five-tuple, as pion's events give it.
// The network is part of it: a client may use the same port number over
// UDP and TCP.
func tupleKey(src, dst net.Addr) string {
	return src.Network() + " " + src.String() + " " + dst.String()
}

// onAllocationCreated counts the allocation and ties it to its relay
// socket, whose reader pion starts right after this returns.
func (s *Server) onAllocationCreated(srcAddr, dstAddr net.Addr, _, userID, _ string, relayAddr net.Addr, _ int) {
	s.cfg.Metrics.Allocations.Inc()
	s.cfg.Metrics.AllocationsTotal.Inc()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.perIP[addrPort(srcAddr).Addr()]++
	r := s.relays[relayAddr.String()]
	if r == nil {
		// Cannot happen: pion made the allocation on a socket from
		// relayGenerator and has not closed it yet.
		s.log.Warn("turn: allocation on an unknown relay socket", "relay", relayAddr, "user", userID)
		return
	}
	r.hasReader = true
	s.readers.Add(1)
	s.byTuple[tupleKey(srcAddr, dstAddr)] = r
}

// onAllocationDeleted uncounts the allocation. pion calls it once per
// allocation, either from the relay reader as it ends or from another
// goroutine before the reader notices its socket closed.
func (s *Server) onAllocationDeleted(srcAddr, dstAddr net.Addr, _, _, _ string) {
	s.cfg.Metrics.Allocations.Dec()
	s.mu.Lock()
	defer s.mu.Unlock()
	if ip := addrPort(srcAddr).Addr(); s.perIP[ip] <= 1 {
		delete(s.perIP, ip)
	} else {
		s.perIP[ip]--
	}
	k := tupleKey(srcAddr, dstAddr)
	r := s.byTuple[k]
	if r == nil {
		return
	}
	delete(s.byTuple, k)
	r.deleted = true
	if r.readerDone {
		s.readers.Done()
	}
}

// relayReaderDone records that pion's reader of r has seen r closed; it
// returns as soon as pion has deleted the allocation.
func (s *Server) relayReaderDone(r *relayConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !r.hasReader || r.readerDone {
		return
	}
	r.readerDone = true
	if r.deleted {
		s.readers.Done()
	}
}

// onPermissionCreated lets the relay socket take packets from peerIP.
func (s *Server) onPermissionCreated(_, _ net.Addr, _, _, _ string, relayAddr net.Addr, peerIP net.IP) {
	if r := s.relay(relayAddr); r != nil {
		r.setPermission(peerIP, true)
	}
}

// onPermissionDeleted stops the relay socket taking packets from peerIP.
func (s *Server) onPermissionDeleted(_, _ net.Addr, _, _, _ string, relayAddr net.Addr, peerIP net.IP) {
	if r := s.relay(relayAddr); r != nil {
		r.setPermission(peerIP, false)
	}
}

// relay returns the relay socket advertised at addr, or nil.
func (s *Server) relay(addr net.Addr) *relayConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.relays[addr.String()]
}
