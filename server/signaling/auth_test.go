package signaling_test

import (
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/signaling"
)

// sign returns a credential for peer issued age ago and valid for ttl.
func sign(peer string, age, ttl time.Duration) *protocol.Credential {
	c := protocol.SignCredential(secret, peer, time.Now().Add(-age), ttl)
	return &c
}

// signer is sign for later: a table's credentials are made when their case
// runs, which under load may be long after the table.
func signer(peer string, age, ttl time.Duration) func() *protocol.Credential {
	return func() *protocol.Credential { return sign(peer, age, ttl) }
}

// signedWith signs with another secret than the app's.
func signedWith(secret, peer string, ttl time.Duration) func() *protocol.Credential {
	return func() *protocol.Credential {
		c := protocol.SignCredential(secret, peer, time.Now(), ttl)
		return &c
	}
}

// expectOpen checks that c's socket works: it can join a room.
func expectOpen(c *client) {
	c.t.Helper()
	joinRoom(c, "alive", protocol.Mesh)
}

func TestPeerAuthentication(t *testing.T) {
	t.Parallel()
	const ttl = 600 * time.Second
	tests := []struct {
		name string
		peer string // the peerId asked for
		cred func() *protocol.Credential
		raw  string // the credential parameter as is, instead of cred
		ok   bool
	}{
		{"valid", "alice", signer("alice", 0, ttl), "", true},
		{"valid shortest ttl", "alice", signer("alice", time.Minute, protocol.MinCredentialTTL*time.Second), "", true},
		{"valid longest ttl", "alice", signer("alice", time.Hour, protocol.MaxCredentialTTL*time.Second), "", true},
		{"valid within clock skew", "alice", signer("alice", -protocol.CredentialClockSkew/2, ttl), "", true},
		{"valid ID with spaces", "alice in wonderland", signer("alice in wonderland", 0, ttl), "", true},
		{"missing", "alice", nil, "", false},
		{"no peer ID", "", signer("alice", 0, ttl), "", false},
		{"wrong secret", "alice", signedWith("another-secret-0123", "alice", ttl), "", false},
		{"another peer's", "alice", signer("bob", 0, ttl), "", false},
		{"tampered ttl", "alice", func() *protocol.Credential {
			c := sign("alice", 0, ttl)
			c.TTL++
			return c
		}, "", false},
		{"expired", "alice", signer("alice", ttl+2*time.Second, ttl), "", false},
		{"ttl too short", "alice", signer("alice", 0, (protocol.MinCredentialTTL-1)*time.Second), "", false},
		{"ttl too long", "alice", signer("alice", 0, (protocol.MaxCredentialTTL+1)*time.Second), "", false},
		{"future", "alice", signer("alice", -protocol.CredentialClockSkew-time.Minute, ttl), "", false},
		{"not JSON", "alice", nil, "timestamp=1", false},
		{"JSON array", "alice", nil, "[]", false},
		{"string timestamp", "alice", nil, `{"timestamp":"1700000000","ttl":600,"authToken":"x"}`, false},
		{"empty object", "alice", nil, `{}`, false},
		{"too long", "alice", nil, `{"timestamp":1,"ttl":600,"authToken":"` + strings.Repeat("A", 2000) + `"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			o := dialOpts{key: keyAuth, peerID: tt.peer, rawCredential: tt.raw}
			if tt.cred != nil {
				o.credential = tt.cred()
			}
			c := e.dialRaw(o)
			if tt.ok {
				var open protocol.OpenPayload
				c.expect(protocol.Open, &open)
				c.id = open.PeerID
				if open.PeerID != tt.peer {
					t.Fatalf("OPEN as %q, want %q", open.PeerID, tt.peer)
				}
				expectOpen(c) // and no AUTH_EXPIRES_IN before it
				return
			}
			if perr := c.expectError(protocol.ErrAuthentication); perr.Message == "" {
				t.Fatal("ERROR authentication without a message")
			}
			c.expectClose(protocol.CloseAuthFailed)
			if tt.peer != "" && e.exists(keyAuth, tt.peer) {
				t.Fatalf("refused peer holds ID %q", tt.peer)
			}
			if got := testutil.ToFloat64(e.metrics.Rejected.WithLabelValues(string(protocol.ErrAuthentication))); got != 1 {
				t.Fatalf("rejected authentication = %v, want 1", got)
			}
		})
	}
}

func TestCredentialExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil) // AuthExpiryWarning is 60 s
	b := e.dial(dialOpts{key: keyAuth, peerID: "bob", credential: sign("bob", 0, time.Hour)})
	// Expiry in one to two seconds: a warning due at once.
	cred := sign("alice", 598*time.Second, 600*time.Second)
	a := e.dial(dialOpts{key: keyAuth, peerID: "alice", credential: cred})
	var in protocol.AuthExpiresInPayload
	a.expect(protocol.AuthExpiresIn, &in)
	if in.Seconds < 0 || in.Seconds > 2 {
		t.Fatalf("AUTH_EXPIRES_IN %d seconds, want 0 to 2", in.Seconds)
	}
	if time.Now().After(cred.Expiry()) {
		t.Fatal("AUTH_EXPIRES_IN came only after the expiry")
	}
	a.send(protocol.SendOffer, offer("bob", "mc_1"))
	b.expect(protocol.Offer, nil)

	a.expectError(protocol.ErrAuthentication)
	if now := time.Now(); now.Before(cred.Expiry().Add(-50 * time.Millisecond)) {
		t.Fatalf("closed %v before the expiry", cred.Expiry().Sub(now))
	}
	a.expectClose(protocol.CloseAuthFailed)
	// Expiry ends the peer: no reclaim, its contacts hear at once.
	var leave protocol.LeavePayload
	b.expect(protocol.Leave, &leave)
	if leave.Src != "alice" {
		t.Fatalf("LEAVE from %q", leave.Src)
	}
	eventually(t, "alice released", func() bool { return !e.exists(keyAuth, "alice") })
	eventually(t, "an authentication close counted", func() bool {
		return testutil.ToFloat64(e.metrics.Closed.WithLabelValues("authentication")) == 1
	})
	b.expectNothing() // bob's credential is good for an hour
}

func TestUpdateCredential(t *testing.T) {
	t.Parallel()
	// A warning lead of 599 s makes a fresh 600 s credential's warning due
	// within a second, so the test can see it come on time and not before.
	const lead = 599 * time.Second
	e := newEnv(t, func(c *signaling.Config) { c.AuthExpiryWarning = lead })
	old := sign("alice", 598*time.Second, 600*time.Second)
	a := e.dial(dialOpts{key: keyAuth, peerID: "alice", credential: old})
	a.expect(protocol.AuthExpiresIn, nil)

	fresh := sign("alice", 0, 600*time.Second)
	a.send(protocol.UpdateCredential, fresh)
	due := fresh.Expiry().Add(-lead)
	var in protocol.AuthExpiresInPayload
	a.expect(protocol.AuthExpiresIn, &in)
	if now := time.Now(); now.Before(due.Add(-50 * time.Millisecond)) {
		t.Fatalf("AUTH_EXPIRES_IN for the fresh credential came %v before it was due", due.Sub(now))
	}
	if in.Seconds < 598 || in.Seconds > 600 {
		t.Fatalf("AUTH_EXPIRES_IN %d seconds, want about 599", in.Seconds)
	}
	// Past the old expiry, the socket lives on, with nothing more said.
	for time.Now().Before(old.Expiry().Add(noMessage)) {
		a.expectNothing()
	}
	expectOpen(a)
	if got := testutil.ToFloat64(e.metrics.Closed.WithLabelValues("authentication")); got != 0 {
		t.Fatalf("authentication closes = %v, want 0", got)
	}
}

func TestUpdateCredentialInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		frame string // an UPDATE_CREDENTIAL, or "" for one of cred
		cred  func() *protocol.Credential
		want  protocol.ErrorType
	}{
		{"wrong secret", "", signedWith("another-secret-0123", "alice", time.Hour), protocol.ErrAuthentication},
		{"another peer's", "", signer("bob", 0, time.Hour), protocol.ErrAuthentication},
		{"expired", "", signer("alice", time.Hour, 600*time.Second), protocol.ErrAuthentication},
		{"ttl too short", "", signer("alice", 0, 599*time.Second), protocol.ErrAuthentication},
		{"ttl too long", "", signer("alice", 0, (protocol.MaxCredentialTTL+1)*time.Second), protocol.ErrAuthentication},
		{"future", "", signer("alice", -time.Hour, time.Hour), protocol.ErrAuthentication},
		{"empty token", `{"type":"UPDATE_CREDENTIAL","payload":{"timestamp":1700000000,"ttl":600,"authToken":""}}`, nil, protocol.ErrAuthentication},
		{"missing token", `{"type":"UPDATE_CREDENTIAL","payload":{"timestamp":1700000000,"ttl":600}}`, nil, protocol.ErrInvalidMessage},
		{"string ttl", `{"type":"UPDATE_CREDENTIAL","payload":{"timestamp":1700000000,"ttl":"600","authToken":"x"}}`, nil, protocol.ErrInvalidMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			a := e.dial(dialOpts{key: keyAuth, peerID: "alice", credential: sign("alice", 0, time.Hour)})
			if tt.frame != "" {
				a.sendRaw([]byte(tt.frame))
			} else {
				a.send(protocol.UpdateCredential, tt.cred())
			}
			if perr := a.expectError(tt.want); perr.Request != protocol.UpdateCredential {
				t.Fatalf("ERROR %+v, want one about UPDATE_CREDENTIAL", perr)
			}
			barrier(a, a)
			expectOpen(a) // the old credential still holds
		})
	}
}

func TestCredentialIgnoredWithoutPeerAuthentication(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cred func() *protocol.Credential
		raw  string
		wait time.Duration // to see no expiry
	}{
		{"valid", signer("alice", 0, time.Hour), "", 0},
		{"expired", signer("alice", time.Hour, 600*time.Second), "", 0},
		{"another peer's", signer("bob", 0, time.Hour), "", 0},
		{"about to expire", signer("alice", 599*time.Second, 600*time.Second), "", time.Second},
		{"not JSON", nil, "garbage", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			o := dialOpts{key: keyA, peerID: "alice", rawCredential: tt.raw}
			if tt.cred != nil {
				o.credential = tt.cred()
			}
			a := e.dialRaw(o)
			a.expect(protocol.Open, nil)
			a.id = "alice"
			// Renewing is a no-op too, whatever is sent.
			a.send(protocol.UpdateCredential, sign("nobody", time.Hour, 600*time.Second))
			time.Sleep(tt.wait)
			barrier(a, a) // no AUTH_EXPIRES_IN, no ERROR
			expectOpen(a)
		})
	}
}

func TestRefusedConnections(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		o     dialOpts
		typ   protocol.ErrorType
		code  websocket.StatusCode
		noKey bool
	}{
		{"unknown key", dialOpts{key: "00000000-0000-4000-8000-000000000000"}, protocol.ErrInvalidKey, protocol.CloseInvalidKey, false},
		{"malformed key", dialOpts{key: "not-a-key"}, protocol.ErrInvalidKey, protocol.CloseInvalidKey, false},
		{"upper-case key", dialOpts{key: strings.ToUpper(keyA)}, protocol.ErrInvalidKey, protocol.CloseInvalidKey, false},
		{"no key", dialOpts{}, protocol.ErrInvalidKey, protocol.CloseInvalidKey, true},
		{"foreign origin", dialOpts{origin: "http://evil.example"}, protocol.ErrInvalidDomain, protocol.CloseInvalidDomain, false},
		{"suffix of an allowed host", dialOpts{origin: "http://notlocalhost:3000"}, protocol.ErrInvalidDomain, protocol.CloseInvalidDomain, false},
		{"subdomain of an allowed host", dialOpts{origin: "http://localhost.evil.example"}, protocol.ErrInvalidDomain, protocol.CloseInvalidDomain, false},
		{"opaque origin", dialOpts{origin: "null"}, protocol.ErrInvalidDomain, protocol.CloseInvalidDomain, false},
		{"foreign origin before a bad ID", dialOpts{origin: "http://evil.example", peerID: "a/b"}, protocol.ErrInvalidDomain, protocol.CloseInvalidDomain, false},
		{"ID with a slash", dialOpts{peerID: "a/b"}, protocol.ErrInvalidID, protocol.CloseInvalidID, false},
		{"ID of 65 characters", dialOpts{peerID: strings.Repeat("x", protocol.MaxPeerIDLength+1)}, protocol.ErrInvalidID, protocol.CloseInvalidID, false},
		{"ID with a leading space", dialOpts{peerID: " a"}, protocol.ErrInvalidID, protocol.CloseInvalidID, false},
		{"ID with a trailing space", dialOpts{peerID: "a "}, protocol.ErrInvalidID, protocol.CloseInvalidID, false},
		{"ID with two spaces", dialOpts{peerID: "a  b"}, protocol.ErrInvalidID, protocol.CloseInvalidID, false},
		{"ID not ASCII", dialOpts{peerID: "ünï"}, protocol.ErrInvalidID, protocol.CloseInvalidID, false},
		{"bad token", dialOpts{peerID: "a", token: "a b"}, protocol.ErrInvalidMessage, websocket.StatusPolicyViolation, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			var c *client
			if tt.noKey {
				q, h := tt.o.query()
				q.Del("key")
				c = e.dialQuery(q, h)
			} else {
				c = e.dialRaw(tt.o)
			}
			if perr := c.expectError(tt.typ); perr.Message == "" {
				t.Fatalf("ERROR %s without a message", tt.typ)
			}
			c.expectClose(tt.code)
			if got := testutil.ToFloat64(e.metrics.Rejected.WithLabelValues(string(tt.typ))); got != 1 {
				t.Fatalf("rejected %s = %v, want 1", tt.typ, got)
			}
			if got := testutil.ToFloat64(e.metrics.Peers); got != 0 {
				t.Fatalf("peers = %v after a refusal", got)
			}
		})
	}
}

func TestAcceptedConnections(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		o    dialOpts
	}{
		{"no origin", dialOpts{}},
		{"localhost with a port", dialOpts{origin: "http://localhost:3000"}},
		{"loopback address", dialOpts{origin: "https://127.0.0.1"}},
		{"host in capitals", dialOpts{origin: "http://LOCALHOST:8080"}},
		{"ID of 64 characters", dialOpts{peerID: strings.Repeat("x", protocol.MaxPeerIDLength)}},
		{"ID with separators", dialOpts{peerID: "a-b_c d-1"}},
		{"other key", dialOpts{key: keyB, origin: "http://localhost"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			c := e.dial(tt.o)
			if tt.o.peerID != "" && c.id != tt.o.peerID {
				t.Fatalf("OPEN as %q, want %q", c.id, tt.o.peerID)
			}
			expectOpen(c)
		})
	}
}

func TestRejectedMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	counts := map[protocol.ErrorType]int{}
	for _, r := range []struct {
		o    dialOpts
		typ  protocol.ErrorType
		code websocket.StatusCode
	}{
		{dialOpts{key: "00000000-0000-4000-8000-000000000000"}, protocol.ErrInvalidKey, protocol.CloseInvalidKey},
		{dialOpts{key: "nope"}, protocol.ErrInvalidKey, protocol.CloseInvalidKey},
		{dialOpts{origin: "http://evil.example"}, protocol.ErrInvalidDomain, protocol.CloseInvalidDomain},
		{dialOpts{peerID: "a/b"}, protocol.ErrInvalidID, protocol.CloseInvalidID},
		{dialOpts{peerID: "a/c"}, protocol.ErrInvalidID, protocol.CloseInvalidID},
		{dialOpts{peerID: "a/d"}, protocol.ErrInvalidID, protocol.CloseInvalidID},
		{dialOpts{key: keyAuth, peerID: "alice"}, protocol.ErrAuthentication, protocol.CloseAuthFailed},
		{dialOpts{peerID: "taken"}, protocol.ErrUnavailableID, protocol.CloseUnavailableID},
	} {
		if r.typ == protocol.ErrUnavailableID {
			e.dial(dialOpts{peerID: "taken"})
		}
		c := e.dialRaw(r.o)
		c.expectError(r.typ)
		c.expectClose(r.code)
		counts[r.typ]++
	}
	e.dial(dialOpts{origin: "http://localhost:3000"}) // an accepted one counts nowhere
	for _, typ := range []protocol.ErrorType{protocol.ErrInvalidKey, protocol.ErrInvalidDomain, protocol.ErrInvalidID,
		protocol.ErrAuthentication, protocol.ErrUnavailableID, protocol.ErrSignalingLimited} {
		if got := testutil.ToFloat64(e.metrics.Rejected.WithLabelValues(string(typ))); got != float64(counts[typ]) {
			t.Errorf("rejected %s = %v, want %d", typ, got, counts[typ])
		}
	}
	if got := testutil.ToFloat64(e.metrics.Peers); got != 2 {
		t.Errorf("peers = %v, want 2", got)
	}
}
