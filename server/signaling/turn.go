package signaling

import (
	"time"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/config"
)

// TURNIssuer makes the TURN credential a peer gets with OPEN. The TURN
// server (server/turn) is one; signaling needs nothing else of it, so the
// relay can live on another machine that shares the apps' secrets.
type TURNIssuer interface {
	// Credential returns peerID's credential in app, valid no later than
	// limit when limit is not zero, or nil when app may not use TURN.
	Credential(app *config.App, peerID string, limit time.Time) *protocol.TURNCredential
}

// TURNRevoker, when the TURNIssuer implements it too, is told that a peer
// has left, so that the TURN credential it was given stops working: one
// taken by a client that then leaves cannot farm allocations. A peer that
// only lost its socket, or whose server is shutting down, is not revoked:
// its calls go on through the relay.
type TURNRevoker interface {
	Revoke(apiKey, peerID string)
}

// revokeTURN voids the peer's TURN credential, if the issuer can.
func (p *peer) revokeTURN() {
	if r, ok := p.srv.cfg.TURN.(TURNRevoker); ok {
		r.Revoke(p.key, p.id)
	}
}

// turnCredential is the TURN credential for OPEN: nil without an issuer,
// and never valid beyond the peer's own credential.
func (p *peer) turnCredential() *protocol.TURNCredential {
	if p.srv.cfg.TURN == nil {
		return nil
	}
	var limit time.Time
	p.mu.Lock()
	if p.cred != nil {
		limit = p.cred.Expiry()
	}
	p.mu.Unlock()
	return p.srv.cfg.TURN.Credential(p.app, p.id, limit)
}
