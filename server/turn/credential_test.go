package turn_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skywasm/skywasm/server/config"
	"github.com/skywasm/skywasm/server/turn"
)

func TestParseUsername(t *testing.T) {
	t.Parallel()
	tests := []struct {
		username string
		ok       bool
	}{
		{"1700000000:" + keyA + ":alice", true},
		{"1:" + keyA + ":a", true},
		{"9223372036854775807:" + keyA + ":peer-1_x", true},
		{"", false},
		{"alice", false},
		{"1700000000", false},
		{"1700000000:" + keyA, false},
		{"1700000000:" + keyA + ":", false},    // no peer ID
		{"1700000000:" + keyA + ":a:b", false}, // a colon in the peer ID
		{"1700000000:" + strings.ToUpper(keyA) + ":alice", false},
		{"1700000000:not-a-key:alice", false},
		{"01700000000:" + keyA + ":alice", false}, // leading zero
		{"+1700000000:" + keyA + ":alice", false}, // sign
		{"-1700000000:" + keyA + ":alice", false},
		{"0:" + keyA + ":alice", false},
		{"17000000x0:" + keyA + ":alice", false},
		{"9223372036854775808:" + keyA + ":alice", false}, // overflows int64
		{"1700000000:" + keyA + ":" + strings.Repeat("a", 1000), false},
		{"1700000000:" + keyA + ":al ice ", false},
	}
	for _, tt := range tests {
		t.Run(tt.username, func(t *testing.T) {
			t.Parallel()
			exp, key, peerID, err := turn.ParseUsername(tt.username)
			if !tt.ok {
				if !errors.Is(err, turn.ErrMalformedUsername) {
					t.Fatalf("ParseUsername = %v, %q, %q, %v; want ErrMalformedUsername", exp, key, peerID, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseUsername: %v", err)
			}
			if got := turn.Username(exp, key, peerID); got != tt.username {
				t.Errorf("Username of the parts = %q, want %q", got, tt.username)
			}
		})
	}
}

func TestPassword(t *testing.T) {
	t.Parallel()
	// Independently of Password: base64(HMAC-SHA1(secret, username)), the
	// TURN REST draft's password, as coturn's use-auth-secret checks it.
	u := "1700000000:" + keyA + ":alice"
	mac := hmac.New(sha1.New, []byte(secretA))
	mac.Write([]byte(u))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if got := turn.Password(secretA, u); got != want {
		t.Errorf("Password = %q, want %q", got, want)
	}
	if turn.Password(secretB, u) == want {
		t.Error("two secrets give the same password")
	}
}

func TestCredential(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *turn.Config) { c.MaxCredentialTTL = 2 * time.Hour })
	now := e.clock.Now()
	appA, _ := e.cfg.Apps.App(keyA)
	noTURN, _ := e.cfg.Apps.App(keyNoTURN)
	tests := []struct {
		name  string
		limit time.Time
		want  time.Time
	}{
		{"no limit", time.Time{}, now.Add(2 * time.Hour)},
		{"earlier limit", now.Add(30 * time.Minute), now.Add(30 * time.Minute)},
		{"later limit", now.Add(5 * time.Hour), now.Add(2 * time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := e.srv.Credential(appA, "alice", tt.limit)
			if c == nil {
				t.Fatal("Credential = nil for an app with TURN")
			}
			if c.Expires != tt.want.Unix() {
				t.Errorf("Expires = %d, want %d", c.Expires, tt.want.Unix())
			}
			exp, key, peerID, err := turn.ParseUsername(c.Username)
			if err != nil || exp.Unix() != c.Expires || key != keyA || peerID != "alice" {
				t.Errorf("username %q parses as %v, %q, %q, %v", c.Username, exp, key, peerID, err)
			}
			if c.Password != turn.Password(secretA, c.Username) {
				t.Error("password not signed with the app's secret")
			}
			if !slices.Equal(c.URLs, e.srv.URLs()) {
				t.Errorf("URLs = %q, want %q", c.URLs, e.srv.URLs())
			}
		})
	}
	t.Run("no TURN permission", func(t *testing.T) {
		t.Parallel()
		if c := e.srv.Credential(noTURN, "alice", time.Time{}); c != nil {
			t.Errorf("Credential = %+v, want nil", c)
		}
	})
	t.Run("works", func(t *testing.T) {
		t.Parallel()
		c := e.srv.Credential(appA, "carol", time.Time{})
		e.dial(t, "udp", c.Username, c.Password).allocate(t)
	})
}

func TestURLs(t *testing.T) {
	t.Parallel()
	t.Run("listener IPs", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		want := []string{
			"turn:" + e.srv.UDPAddr().String() + "?transport=udp",
			"turn:" + e.srv.TCPAddr().String() + "?transport=tcp",
			"turns:" + e.srv.TLSAddr().String() + "?transport=tcp",
		}
		if got := e.srv.URLs(); !slices.Equal(got, want) {
			t.Errorf("URLs = %q, want %q", got, want)
		}
	})
	t.Run("public host, UDP only", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, func(c *turn.Config) {
			c.TCPAddr, c.TLSAddr, c.TLS = "", "", nil
			c.PublicHost = "turn.example.com"
		})
		port := e.srv.UDPAddr().(*net.UDPAddr).Port
		want := []string{fmt.Sprintf("turn:turn.example.com:%d?transport=udp", port)}
		if got := e.srv.URLs(); !slices.Equal(got, want) {
			t.Errorf("URLs = %q, want %q", got, want)
		}
		if e.srv.TCPAddr() != nil || e.srv.TLSAddr() != nil {
			t.Errorf("TCPAddr = %v, TLSAddr = %v, want nil", e.srv.TCPAddr(), e.srv.TLSAddr())
		}
	})
	t.Run("IPv6", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, func(c *turn.Config) { c.UDPAddr, c.TCPAddr, c.TLSAddr, c.TLS = "[::1]:0", "", "", nil })
		want := []string{"turn:" + e.srv.UDPAddr().String() + "?transport=udp"}
		if got := e.srv.URLs(); !slices.Equal(got, want) || !strings.HasPrefix(got[0], "turn:[::1]:") {
			t.Errorf("URLs = %q, want %q", got, want)
		}
	})
}

func TestValidate(t *testing.T) {
	t.Parallel()
	apps := testApps(t)
	valid := func() turn.Config {
		c := turn.DefaultConfig()
		c.Apps = apps
		return c
	}
	tests := []struct {
		name string
		edit func(*turn.Config)
		want string // "" for valid
	}{
		{"default", func(*turn.Config) {}, ""},
		{"zero limits mean defaults", func(c *turn.Config) { c.MaxAllocationsPerPeer, c.RelayBandwidth, c.MaxCredentialTTL = 0, 0, 0 }, ""},
		{"no apps", func(c *turn.Config) { c.Apps = nil }, "Apps: required"},
		{"no listener", func(c *turn.Config) { c.UDPAddr, c.TCPAddr = "", "" }, "UDPAddr: at least one"},
		{"bad UDPAddr", func(c *turn.Config) { c.UDPAddr = "3478" }, `UDPAddr: "3478" is not host:port`},
		{"bad TCPAddr", func(c *turn.Config) { c.TCPAddr = "x" }, `TCPAddr: "x" is not host:port`},
		{"TLSAddr without TLS", func(c *turn.Config) { c.TLSAddr = "127.0.0.1:5349" }, "TLS: required with TLSAddr"},
		{"TLS without TLSAddr", func(c *turn.Config) { c.TLS = serverTLS(t) }, "TLSAddr: required with TLS"},
		{"bad RelayIP", func(c *turn.Config) { c.RelayIP = "relay" }, `RelayIP: "relay" is not an IP address`},
		{"bad PublicRelayIP", func(c *turn.Config) { c.PublicRelayIP = "1.2.3" }, `PublicRelayIP: "1.2.3" is not an IP address`},
		{"unspecified PublicRelayIP", func(c *turn.Config) { c.PublicRelayIP = "0.0.0.0" }, "PublicRelayIP: \"0.0.0.0\" is unspecified"},
		{"wildcard listener", func(c *turn.Config) { c.UDPAddr, c.TCPAddr = "0.0.0.0:3478", "" }, "RelayIP: required"},
		{"wildcard listener, no PublicHost", func(c *turn.Config) { c.UDPAddr, c.TCPAddr, c.RelayIP = ":3478", "", "192.0.2.1" }, "PublicHost: required"},
		{"wildcard listener done right", func(c *turn.Config) {
			c.UDPAddr, c.TCPAddr, c.RelayIP, c.PublicHost = "0.0.0.0:3478", ":3478", "192.0.2.1", "turn.example.com"
		}, ""},
		{"behind NAT", func(c *turn.Config) {
			c.UDPAddr, c.TCPAddr, c.RelayIP, c.PublicRelayIP, c.PublicHost = "0.0.0.0:3478", "", "0.0.0.0", "198.51.100.7", "198.51.100.7"
		}, ""},
		{"unspecified RelayIP", func(c *turn.Config) { c.RelayIP = "::" }, "RelayIP: required (or PublicRelayIP)"},
		{"negative quota", func(c *turn.Config) { c.MaxAllocationsPerPeer = -1 }, "MaxAllocationsPerPeer: must not be negative"},
		{"negative connections per IP", func(c *turn.Config) { c.MaxConnsPerIP = -1 }, "MaxConnsPerIP: must not be negative"},
		{"negative connections", func(c *turn.Config) { c.MaxConns = -1 }, "MaxConns: must not be negative"},
		{"negative handshakes per IP", func(c *turn.Config) { c.HandshakeBurstPerIP = -1 }, "HandshakesPerIP: HandshakesPerIP and HandshakeBurstPerIP must not be negative"},
		{"tiny bandwidth", func(c *turn.Config) { c.RelayBandwidth = 1000 }, "RelayBandwidth: must be at least"},
		{"negative TTL", func(c *turn.Config) { c.MaxCredentialTTL = -time.Second }, "MaxCredentialTTL: must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := valid()
			tt.edit(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	t.Run("New refuses an invalid config", func(t *testing.T) {
		t.Parallel()
		c := valid()
		c.Apps = nil
		if s, err := turn.New(c); err == nil || !strings.Contains(err.Error(), "Apps") {
			if s != nil {
				_ = s.Close()
			}
			t.Errorf("New = %v, want the Apps error", err)
		}
	})
}

// FuzzUsername holds ParseUsername, which reads a username off the
// network, to accepting exactly what Username makes.
func FuzzUsername(f *testing.F) {
	for _, s := range []string{
		"1700000000:" + keyA + ":alice",
		"1:" + keyA + ":a-b_c d",
		"01700000000:" + keyA + ":alice",
		"1700000000:" + keyA + ":a:b",
		"::",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, username string) {
		exp, key, peerID, err := turn.ParseUsername(username)
		if err != nil {
			if !errors.Is(err, turn.ErrMalformedUsername) {
				t.Fatalf("error %v is not ErrMalformedUsername", err)
			}
			return
		}
		if !config.IsAPIKey(key) || exp.Unix() <= 0 {
			t.Fatalf("accepted %q: key %q, expiry %v", username, key, exp)
		}
		if again := turn.Username(exp, key, peerID); again != username {
			t.Fatalf("Username of the parts of %q is %q", username, again)
		}
	})
}

func ExampleUsername() {
	expires := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	fmt.Println(turn.Username(expires, "0f6a7c3e-1d2b-4c5a-9e8f-112233445566", "alice"))
	// Output: 1893456000:0f6a7c3e-1d2b-4c5a-9e8f-112233445566:alice
}

func ExamplePassword() {
	username := "1893456000:0f6a7c3e-1d2b-4c5a-9e8f-112233445566:alice"
	fmt.Println(turn.Password("the app's secret, 16+ bytes", username))
	// Output: oJUY48eiQAj11KHGsbbAf6Mc0hw=
}
