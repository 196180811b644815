package turn

import (
	"crypto/hmac"
	"crypto/sha1" // #nosec: HMAC-SHA1 is what the TURN REST draft and browsers' servers use
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/config"
)

// maxExpiryDigits bounds the expiry field: 19 digits hold every positive
// int64.
const maxExpiryDigits = 19

// Username returns the TURN username of peerID in the app with API key
// key, valid until expires (to the second, rounded down):
// "<expiry in Unix seconds>:<key>:<peerID>". The API key is in it because
// peer IDs are per key: it tells the server which app's secret signs it.
func Username(expires time.Time, key, peerID string) string {
	return strconv.FormatInt(expires.Unix(), 10) + ":" + key + ":" + peerID
}

// Password returns the password of username for an app with the given
// secret: base64(HMAC-SHA1(secret, username)), as in the TURN REST draft.
func Password(secret, username string) string {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// ParseUsername splits a username made by Username. It accepts exactly what
// Username makes: a positive expiry in decimal without leading zeros or
// sign, a lower-case UUID API key and a valid peer ID. Anything else is
// ErrMalformedUsername. The username comes from the network, so nothing
// in it is trusted before the message integrity has been checked.
func ParseUsername(username string) (expires time.Time, key, peerID string, err error) {
	exp, rest, ok := strings.Cut(username, ":")
	if !ok || !canonicalDecimal(exp) {
		return time.Time{}, "", "", fmt.Errorf("%w: bad expiry", ErrMalformedUsername)
	}
	sec, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || sec <= 0 {
		return time.Time{}, "", "", fmt.Errorf("%w: bad expiry", ErrMalformedUsername)
	}
	key, peerID, ok = strings.Cut(rest, ":")
	if !ok || !config.IsAPIKey(key) {
		return time.Time{}, "", "", fmt.Errorf("%w: bad API key", ErrMalformedUsername)
	}
	if !protocol.ValidPeerID(peerID) {
		return time.Time{}, "", "", fmt.Errorf("%w: bad peer ID", ErrMalformedUsername)
	}
	return time.Unix(sec, 0), key, peerID, nil
}

// canonicalDecimal reports whether s is a decimal number as
// strconv.FormatInt writes a positive one: digits only, no leading zero.
func canonicalDecimal(s string) bool {
	if s == "" || len(s) > maxExpiryDigits || s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Credential makes the TURN credential handed to peerID of app in OPEN. It
// expires MaxCredentialTTL from now, or at limit when limit is not zero and
// earlier (the peer-authentication credential's own expiry), so that TURN
// never outlives the peer's right to be connected. It returns nil when app
// may not use TURN (no Permissions.TURN, or no secret to sign with).
func (s *Server) Credential(app *config.App, peerID string, limit time.Time) *protocol.TURNCredential {
	if app == nil || !app.Permissions.TURN || app.Secret == "" {
		return nil
	}
	expires := s.cfg.Now().Add(s.cfg.MaxCredentialTTL)
	if !limit.IsZero() && limit.Before(expires) {
		expires = limit
	}
	// Whole seconds, rounded down: the username cannot say more.
	expires = time.Unix(expires.Unix(), 0)
	username := Username(expires, app.Key, peerID)
	s.unrevoke(app.Key + ":" + peerID)
	return &protocol.TURNCredential{
		Username: username,
		Password: Password(app.Secret, username),
		URLs:     slices.Clone(s.urls),
		Expires:  expires.Unix(),
	}
}
