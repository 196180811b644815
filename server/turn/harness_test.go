package turn_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/stun/v4"
	pionturn "github.com/pion/turn/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/skywasm/skywasm/internal/testcert"
	"github.com/skywasm/skywasm/server/config"
	"github.com/skywasm/skywasm/server/metrics"
	"github.com/skywasm/skywasm/server/turn"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	keyA = "0f6a7c3e-1d2b-4c5a-9e8f-112233445566"
	keyB = "1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d"
	// keyNoTURN names an app without the TURN permission.
	keyNoTURN = "2b3c4d5e-6f7a-4b2c-9d3e-4f5a6b7c8d9e"
	// keyUnknown names no app.
	keyUnknown = "3c4d5e6f-7a8b-4c3d-8e4f-5a6b7c8d9e0f"
	secretA    = "secret-of-app-a-0123456789"
	secretB    = "secret-of-app-b-0123456789"
	wait       = 5 * time.Second
)

// testApps are the apps every test server knows.
func testApps(t *testing.T) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte(`
apps:
  - key: ` + keyA + `
    secret: ` + secretA + `
    permissions: {turn: true}
  - key: ` + keyB + `
    secret: ` + secretB + `
    permissions: {turn: true}
  - key: ` + keyNoTURN + `
    secret: ` + secretA + `
`))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// clock is a settable Config.Now.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// logBuffer collects a server's logs, safely for pion's goroutines and
// without t.Log, which must not be called after the test ends.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// env is a running server with what a test looks at.
type env struct {
	srv     *turn.Server
	cfg     turn.Config
	metrics *metrics.TURN
	clock   *clock
	logs    *logBuffer
}

// newEnv starts a server on 127.0.0.1 (UDP, TCP and TLS) allowing loopback
// peers; edit changes the configuration first.
func newEnv(t *testing.T, edit func(*turn.Config)) *env {
	t.Helper()
	e := &env{metrics: metrics.NewTURN(prometheus.NewRegistry()), clock: newClock(), logs: &logBuffer{}}
	cfg := turn.DefaultConfig()
	cfg.UDPAddr = "127.0.0.1:0"
	cfg.TCPAddr = "127.0.0.1:0"
	cfg.TLSAddr = "127.0.0.1:0"
	cfg.TLS = serverTLS(t)
	cfg.Apps = testApps(t)
	cfg.AllowedPeers = loopback
	cfg.Metrics = e.metrics
	cfg.Now = e.clock.Now
	cfg.Logger = slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if edit != nil {
		edit(&cfg)
	}
	srv, err := turn.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	e.srv, e.cfg = srv, cfg
	return e
}

// credential returns a username valid for an hour of the env's clock and
// its password.
func (e *env) credential(key, secret, peerID string) (string, string) {
	u := turn.Username(e.clock.Now().Add(time.Hour), key, peerID)
	return u, turn.Password(secret, u)
}

// refusals returns the count of refusals for reason.
func (e *env) refusals(reason string) float64 {
	return testutil.ToFloat64(e.metrics.Refusals.WithLabelValues(reason))
}

// client is a pion TURN client of the env's server.
type client struct {
	*pionturn.Client
	conn net.PacketConn
}

// dial connects a TURN client over transport ("udp", "tcp" or "tls") with
// the given credential. It is closed when the test ends.
func (e *env) dial(t *testing.T, transport, username, password string) *client {
	t.Helper()
	var (
		conn   net.PacketConn
		server net.Addr
	)
	switch transport {
	case "udp":
		server = e.srv.UDPAddr()
		network, local := "udp4", "127.0.0.1:0"
		if server.(*net.UDPAddr).IP.To4() == nil {
			network, local = "udp6", "[::1]:0"
		}
		c, err := net.ListenPacket(network, local)
		if err != nil {
			t.Fatal(err)
		}
		conn = c
	case "tcp":
		server = e.srv.TCPAddr()
		c, err := net.DialTimeout("tcp", server.String(), wait)
		if err != nil {
			t.Fatal(err)
		}
		conn = pionturn.NewSTUNConn(c)
	case "tls":
		server = e.srv.TLSAddr()
		d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: wait}, Config: clientTLS(t, e.cfg.TLS)}
		c, err := d.Dial("tcp", server.String())
		if err != nil {
			t.Fatal(err)
		}
		conn = pionturn.NewSTUNConn(c)
	default:
		t.Fatalf("unknown transport %q", transport)
	}
	c, err := pionturn.NewClient(&pionturn.ClientConfig{
		STUNServerAddr: server.String(),
		TURNServerAddr: server.String(),
		Conn:           conn,
		Username:       username,
		Password:       password,
		RTO:            200 * time.Millisecond,
	})
	if err != nil {
		_ = conn.Close()
		t.Fatal(err)
	}
	if err := c.Listen(); err != nil {
		c.Close()
		_ = conn.Close()
		t.Fatal(err)
	}
	cl := &client{Client: c, conn: conn}
	t.Cleanup(cl.close)
	return cl
}

// close ends the client: its allocation (if any), transactions and socket.
func (c *client) close() {
	c.Close()
	_ = c.conn.Close()
}

// allocate makes the client's allocation, closed when the test ends.
func (c *client) allocate(t *testing.T) net.PacketConn {
	t.Helper()
	relay, err := c.Allocate()
	if err != nil {
		t.Fatalf("Allocate: %v", err)
	}
	t.Cleanup(func() { _ = relay.Close() })
	return relay
}

// turnCode returns the TURN error code of err, or 0.
func turnCode(err error) int {
	var te *stun.TurnError
	if errors.As(err, &te) {
		return int(te.ErrorCodeAttr.Code)
	}
	return 0
}

// peer is a plain UDP socket on 127.0.0.1, the far end of a relay.
func peer(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// eventually fails t unless cond holds within the wait.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var (
	certOnce sync.Once
	certPEM  tls.Certificate
	certErr  error
)

// serverTLS returns a TLS configuration with a self-signed certificate for
// 127.0.0.1, made once per test binary.
func serverTLS(t *testing.T) *tls.Config {
	t.Helper()
	certOnce.Do(func() { certPEM, _, certErr = testcert.New("127.0.0.1") })
	if certErr != nil {
		t.Fatal(certErr)
	}
	return &tls.Config{Certificates: []tls.Certificate{certPEM}, MinVersion: tls.VersionTLS12}
}

// clientTLS trusts the server's self-signed certificate, and only it.
func clientTLS(t *testing.T, server *tls.Config) *tls.Config {
	t.Helper()
	leaf, err := x509.ParseCertificate(server.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}
