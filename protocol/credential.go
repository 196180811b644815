package protocol

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Credential is what a page presents for peer authentication, SkyWay's
// {"timestamp", "ttl", "authToken"}. The app's own server signs it for one
// peer ID with the app's secret (SignCredential); skywasm checks it (Verify).
type Credential struct {
	// Timestamp is when the credential was issued, in Unix seconds.
	Timestamp int64 `json:"timestamp"`
	// TTL is how long the credential is valid after Timestamp, in seconds,
	// from MinCredentialTTL to MaxCredentialTTL.
	TTL int64 `json:"ttl"`
	// AuthToken is base64(HMAC-SHA256(secret, "<timestamp>:<ttl>:<peerId>")),
	// standard encoding with padding.
	AuthToken string `json:"authToken"`
}

// The range of Credential.TTL, in seconds, as in SkyWay.
const (
	MinCredentialTTL = 600
	MaxCredentialTTL = 90000
)

// CredentialClockSkew is how far in the future a credential's timestamp may
// be: the app's server and skywasm's clocks never agree exactly.
const CredentialClockSkew = 30 * time.Second

var (
	// ErrCredentialTTL means the credential's ttl is outside
	// MinCredentialTTL..MaxCredentialTTL.
	ErrCredentialTTL = errors.New("credential ttl out of range")
	// ErrCredentialFuture means the credential's timestamp is later than now
	// plus CredentialClockSkew.
	ErrCredentialFuture = errors.New("credential timestamp in the future")
	// ErrCredentialExpired means timestamp + ttl has passed.
	ErrCredentialExpired = errors.New("credential expired")
	// ErrCredentialToken means the authToken was not made with the app's
	// secret for this peer ID, timestamp and ttl.
	ErrCredentialToken = errors.New("credential authToken does not match")
)

// SignCredential returns the credential for peerID issued at timestamp and
// valid for ttl, signed with secret. Sub-second parts of both are dropped.
func SignCredential(secret, peerID string, timestamp time.Time, ttl time.Duration) Credential {
	c := Credential{Timestamp: timestamp.Unix(), TTL: int64(ttl / time.Second)}
	c.AuthToken = base64.StdEncoding.EncodeToString(c.mac(secret, peerID))
	return c
}

// mac is HMAC-SHA256(secret, "<timestamp>:<ttl>:<peerId>").
func (c Credential) mac(secret, peerID string) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	var buf [64]byte
	msg := strconv.AppendInt(buf[:0], c.Timestamp, 10)
	msg = append(msg, ':')
	msg = strconv.AppendInt(msg, c.TTL, 10)
	msg = append(msg, ':')
	h.Write(msg)
	h.Write([]byte(peerID))
	return h.Sum(nil)
}

// Expiry returns the moment the credential stops being valid.
func (c Credential) Expiry() time.Time {
	return time.Unix(c.Timestamp+c.TTL, 0)
}

// Verify checks c for peerID at time now: the ttl range, the timestamp not
// in the future (beyond CredentialClockSkew), not expired, and the token.
// It returns nil or an error wrapping ErrCredentialTTL, ErrCredentialFuture,
// ErrCredentialExpired or ErrCredentialToken.
func (c Credential) Verify(secret, peerID string, now time.Time) error {
	// The range checks come first, in integer seconds, so that Expiry's
	// sum cannot overflow.
	if c.TTL < MinCredentialTTL || c.TTL > MaxCredentialTTL {
		return fmt.Errorf("ttl %d is not in %d..%d: %w", c.TTL, MinCredentialTTL, MaxCredentialTTL, ErrCredentialTTL)
	}
	if latest := now.Add(CredentialClockSkew).Unix(); c.Timestamp > latest {
		return fmt.Errorf("timestamp %d is later than %d: %w", c.Timestamp, latest, ErrCredentialFuture)
	}
	if exp := c.Expiry(); now.After(exp) {
		return fmt.Errorf("expired at %d, %v ago: %w", exp.Unix(), now.Sub(exp).Round(time.Second), ErrCredentialExpired)
	}
	// Compare the encoded forms: base64.StdEncoding output is canonical, and
	// hmac.Equal keeps the comparison constant-time.
	want := base64.StdEncoding.EncodeToString(c.mac(secret, peerID))
	if !hmac.Equal([]byte(c.AuthToken), []byte(want)) {
		return fmt.Errorf("peer %q: %w", peerID, ErrCredentialToken)
	}
	return nil
}
