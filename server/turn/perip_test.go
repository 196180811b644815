package turn_test

import (
	"crypto/tls"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/pion/stun/v4"
	pionturn "github.com/pion/turn/v5"

	"github.com/skywasm/skywasm/server/turn"
)

// dialFrom opens a TCP or TLS connection to the env's server from the
// local address ip. The test's end closes it.
func (e *env) dialFrom(t *testing.T, transport, ip string) (net.Conn, error) {
	t.Helper()
	d := &net.Dialer{Timeout: wait, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	var (
		c   net.Conn
		err error
	)
	switch transport {
	case "tcp":
		c, err = d.Dial("tcp", e.srv.TCPAddr().String())
	case "tls":
		c, err = (&tls.Dialer{NetDialer: d, Config: clientTLS(t, e.cfg.TLS)}).Dial("tcp", e.srv.TLSAddr().String())
	default:
		t.Fatalf("unknown transport %q", transport)
	}
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, nil
}

// binding sends a STUN Binding request on a stream connection and reads
// the answer: nil when the server serves the connection.
func binding(c net.Conn) error {
	if err := c.SetDeadline(time.Now().Add(wait)); err != nil {
		return err
	}
	if _, err := c.Write(stun.MustBuild(stun.TransactionID, stun.BindingRequest).Raw); err != nil {
		return fmt.Errorf("failed to send a Binding request: %w", err)
	}
	buf := make([]byte, 1500)
	n, err := c.Read(buf)
	if err != nil {
		return fmt.Errorf("failed to read the Binding response: %w", err)
	}
	m := &stun.Message{Raw: buf[:n]}
	if err := m.Decode(); err != nil {
		return err
	}
	if m.Type != stun.BindingSuccess {
		return fmt.Errorf("got %v, want a Binding success", m.Type)
	}
	return nil
}

// TestConnsPerIP: one address holds a bounded number of TCP and TLS
// connections and opens a bounded number a second; past a limit its next
// connection is closed unserved, while another address is served, down to
// an allocation. Before the limit, 5,000 connections from one address were
// all accepted, each costing a descriptor and, for TLS, a handshake.
func TestConnsPerIP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		transport string
		edit      func(*turn.Config)
		reason    string
		// freed says whether closing a connection lets the address open
		// another: so with a limit on those held, not on the rate.
		freed bool
	}{
		{"TCP connections held", "tcp", func(c *turn.Config) { c.MaxConnsPerIP = 3 }, "ip-connections", true},
		{"TLS connections held", "tls", func(c *turn.Config) { c.MaxConnsPerIP = 3 }, "ip-connections", true},
		{"TCP handshakes a second", "tcp", func(c *turn.Config) { c.HandshakesPerIP, c.HandshakeBurstPerIP = 1, 3 }, "ip-handshakes", false},
		{"TLS handshakes a second", "tls", func(c *turn.Config) { c.HandshakesPerIP, c.HandshakeBurstPerIP = 1, 3 }, "ip-handshakes", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tt.edit)
			// Connections from 127.0.0.1, held open, until one is refused:
			// closed as soon as it is accepted, so that a TLS dial fails
			// in its handshake and a TCP one at its first read.
			var held []net.Conn
			start := time.Now()
			for len(held) < 20 {
				c, err := e.dialFrom(t, tt.transport, "127.0.0.1")
				if err == nil {
					err = binding(c)
				}
				if err != nil {
					break
				}
				held = append(held, c)
			}
			// The bucket refills at 1 a second while the loop runs,
			// seconds on a loaded machine under -race.
			most := 3
			if !tt.freed {
				most += int(time.Since(start).Seconds())
			}
			if len(held) < 3 || len(held) > most {
				t.Fatalf("%d connections served before a refusal, want 3 to %d", len(held), most)
			}
			if got := e.refusals(tt.reason); got != 1 {
				t.Fatalf("%v refusals %q, want 1", got, tt.reason)
			}

			// Another address is served: it makes an allocation.
			c, err := e.dialFrom(t, tt.transport, "127.0.0.2")
			if err != nil {
				t.Fatalf("from 127.0.0.2: %v", err)
			}
			u, p := e.credential(keyA, secretA, "other")
			cl, err := pionturn.NewClient(&pionturn.ClientConfig{
				STUNServerAddr: c.RemoteAddr().String(), TURNServerAddr: c.RemoteAddr().String(),
				Conn: pionturn.NewSTUNConn(c), Username: u, Password: p, RTO: 200 * time.Millisecond,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			if err := cl.Listen(); err != nil {
				t.Fatal(err)
			}
			relay, err := cl.Allocate()
			if err != nil {
				t.Fatalf("Allocate from 127.0.0.2: %v", err)
			}
			_ = relay.Close()

			if !tt.freed {
				return
			}
			// A connection closed gives its place back.
			_ = held[0].Close()
			eventually(t, "a connection from 127.0.0.1 served again", func() bool {
				c, err := e.dialFrom(t, tt.transport, "127.0.0.1")
				if err == nil {
					err = binding(c)
					_ = c.Close()
				}
				return err == nil
			})
		})
	}
}

// TestMaxConns: the server holds a bounded number of TCP and TLS
// connections whatever the number of client addresses, so that
// connections from many addresses cannot take the process's descriptors;
// a connection closed gives its place back.
func TestMaxConns(t *testing.T) {
	t.Parallel()
	for _, transport := range []string{"tcp", "tls"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *turn.Config) { c.MaxConns = 3 })
			served := func(ip string) (net.Conn, bool) {
				c, err := e.dialFrom(t, transport, ip)
				if err == nil {
					err = binding(c)
				}
				return c, err == nil
			}
			var held []net.Conn
			for _, ip := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"} {
				c, ok := served(ip)
				if !ok {
					t.Fatalf("a connection from %s was refused", ip)
				}
				held = append(held, c)
			}
			if _, ok := served("127.0.0.4"); ok {
				t.Fatal("a connection over the server's limit was served")
			}
			if got := e.refusals("conns-full"); got != 1 {
				t.Fatalf("%v refusals conns-full, want 1", got)
			}
			_ = held[0].Close()
			eventually(t, "a connection from 127.0.0.4 served", func() bool {
				c, ok := served("127.0.0.4")
				if c != nil {
					_ = c.Close()
				}
				return ok
			})
		})
	}
}
