package turn

import "errors"

// ErrMalformedUsername is returned by ParseUsername for a username that is
// not "<expiry>:<API key>:<peer ID>".
var ErrMalformedUsername = errors.New("turn: malformed username")

// Errors the relay address generator gives pion, which answers the
// Allocate with 508 (Insufficient Capacity); they never reach a caller of
// this package.
var (
	errTCPRelay      = errors.New("turn: relaying to peers over TCP (RFC 6062) is not supported")
	errQuota         = errors.New("turn: allocation quota reached")
	errClosed        = errors.New("turn: server closed")
	errRelayFamily   = errors.New("turn: no relay address of the requested family")
	errNotUDPAddress = errors.New("turn: peer address is not a UDP address")
)
