package protocol_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/skywasm/skywasm/protocol"
)

const testSecret = "skywasm-test-secret"

// The known answer, computed independently with
//
//	printf '1700000000:3600:alice' | openssl dgst -sha256 -hmac skywasm-test-secret -binary | base64
//
// A change here breaks every app server that signs credentials.
const (
	knownTimestamp = 1700000000
	knownTTL       = 3600
	knownPeer      = "alice"
	knownToken     = "HfxAwJU1otoY9ZBkU8uQG5JKdlrH4YRE2G4coMheZUU="
)

func TestSignCredentialKnownAnswer(t *testing.T) {
	t.Parallel()
	c := protocol.SignCredential(testSecret, knownPeer, time.Unix(knownTimestamp, 0), knownTTL*time.Second)
	want := protocol.Credential{Timestamp: knownTimestamp, TTL: knownTTL, AuthToken: knownToken}
	if c != want {
		t.Fatalf("SignCredential = %+v, want %+v", c, want)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"timestamp":1700000000,"ttl":3600,"authToken":"`+knownToken+`"}`; got != want {
		t.Errorf("JSON = %s, want %s", got, want)
	}
	if got, want := c.Expiry(), time.Unix(knownTimestamp+knownTTL, 0); !got.Equal(want) {
		t.Errorf("Expiry() = %v, want %v", got, want)
	}
}

func TestSignCredentialTruncates(t *testing.T) {
	t.Parallel()
	c := protocol.SignCredential(testSecret, knownPeer, time.Unix(knownTimestamp, 999_999_999), knownTTL*time.Second+999*time.Millisecond)
	if c.Timestamp != knownTimestamp || c.TTL != knownTTL || c.AuthToken != knownToken {
		t.Errorf("SignCredential with sub-second parts = %+v, want the known answer", c)
	}
}

func TestCredentialVerify(t *testing.T) {
	t.Parallel()
	issued := time.Unix(knownTimestamp, 0)
	sign := func(ttl int64) protocol.Credential {
		return protocol.SignCredential(testSecret, knownPeer, issued, time.Duration(ttl)*time.Second)
	}
	tampered := sign(knownTTL)
	tampered.AuthToken = "A" + tampered.AuthToken[1:]
	stretched := sign(knownTTL)
	stretched.TTL = protocol.MaxCredentialTTL // longer life, same token

	tests := []struct {
		name   string
		c      protocol.Credential
		secret string
		peer   string
		now    time.Time
		want   error
	}{
		{"valid", sign(knownTTL), testSecret, knownPeer, issued.Add(time.Minute), nil},
		{"valid at issue", sign(knownTTL), testSecret, knownPeer, issued, nil},
		{"valid at expiry", sign(knownTTL), testSecret, knownPeer, issued.Add(knownTTL * time.Second), nil},
		{"valid within skew", sign(knownTTL), testSecret, knownPeer, issued.Add(-protocol.CredentialClockSkew), nil},
		{"valid min ttl", sign(protocol.MinCredentialTTL), testSecret, knownPeer, issued, nil},
		{"valid max ttl", sign(protocol.MaxCredentialTTL), testSecret, knownPeer, issued, nil},
		{"wrong secret", sign(knownTTL), "another-secret", knownPeer, issued, protocol.ErrCredentialToken},
		{"other peer", sign(knownTTL), testSecret, "bob", issued, protocol.ErrCredentialToken},
		{"peer prefix", sign(knownTTL), testSecret, "alic", issued, protocol.ErrCredentialToken},
		{"tampered token", tampered, testSecret, knownPeer, issued, protocol.ErrCredentialToken},
		{"tampered ttl", stretched, testSecret, knownPeer, issued, protocol.ErrCredentialToken},
		{"empty token", protocol.Credential{Timestamp: knownTimestamp, TTL: knownTTL}, testSecret, knownPeer, issued, protocol.ErrCredentialToken},
		{"ttl too small", sign(protocol.MinCredentialTTL - 1), testSecret, knownPeer, issued, protocol.ErrCredentialTTL},
		{"ttl too large", sign(protocol.MaxCredentialTTL + 1), testSecret, knownPeer, issued, protocol.ErrCredentialTTL},
		{"ttl negative", sign(-1), testSecret, knownPeer, issued, protocol.ErrCredentialTTL},
		{"future", sign(knownTTL), testSecret, knownPeer, issued.Add(-protocol.CredentialClockSkew - time.Second), protocol.ErrCredentialFuture},
		{"far future", protocol.Credential{Timestamp: 1<<63 - 1, TTL: knownTTL}, testSecret, knownPeer, issued, protocol.ErrCredentialFuture},
		{"expired", sign(knownTTL), testSecret, knownPeer, issued.Add(knownTTL*time.Second + time.Second), protocol.ErrCredentialExpired},
		{"long expired", protocol.Credential{Timestamp: -1 << 63, TTL: knownTTL}, testSecret, knownPeer, issued, protocol.ErrCredentialExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.c.Verify(tt.secret, tt.peer, tt.now)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestCredentialVerifyErrorDetail(t *testing.T) {
	t.Parallel()
	c := protocol.Credential{Timestamp: knownTimestamp, TTL: 10, AuthToken: knownToken}
	err := c.Verify(testSecret, knownPeer, time.Unix(knownTimestamp, 0))
	if got, want := fmt.Sprint(err), "ttl 10 is not in 600..90000: credential ttl out of range"; got != want {
		t.Errorf("Verify = %q, want %q", got, want)
	}
}

func ExampleSignCredential() {
	c := protocol.SignCredential("skywasm-test-secret", "alice", time.Unix(1700000000, 0), time.Hour)
	b, _ := json.Marshal(c)
	fmt.Println(string(b))
	fmt.Println(c.Verify("skywasm-test-secret", "alice", time.Unix(1700000060, 0)))
	fmt.Println(c.Verify("skywasm-test-secret", "alice", time.Unix(1700003601, 0)))
	// Output:
	// {"timestamp":1700000000,"ttl":3600,"authToken":"HfxAwJU1otoY9ZBkU8uQG5JKdlrH4YRE2G4coMheZUU="}
	// <nil>
	// expired at 1700003600, 1s ago: credential expired
}
