package signaling_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/config"
	"github.com/skywasm/skywasm/server/metrics"
	"github.com/skywasm/skywasm/server/routing"
	"github.com/skywasm/skywasm/server/signaling"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	keyA = "0f6a7c3e-1d2b-4c5a-9e8f-112233445566"
	keyB = "1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d"
	// keyAuth has peer authentication on.
	keyAuth   = "2b3c4d5e-6f7a-4b2c-9d3e-4f5a6b7c8d9e"
	secret    = "test-secret-0123456789"
	wait      = 5 * time.Second
	noMessage = 300 * time.Millisecond
)

// testApps returns three apps: A and B with every permission, and one with
// peer authentication, each allowing any origin but "evil.example".
func testApps() *config.Config {
	app := func(key string) config.App {
		return config.App{
			Key: key, Secret: secret, Domains: []string{"localhost", "127.0.0.1"},
			Permissions: config.Permissions{ListPeers: true, SFU: true, TURN: true},
			Limits:      config.Limits{MaxPeers: 50, MaxRoomMembers: 4},
		}
	}
	auth := app(keyAuth)
	auth.Permissions.PeerAuthentication = true
	return &config.Config{Addr: "127.0.0.1:0", Apps: []config.App{app(keyA), app(keyB), auth}}
}

// env is a signaling server on loopback.
type env struct {
	t       testing.TB
	srv     *signaling.Server
	http    *httptest.Server
	url     string // ws://127.0.0.1:port/v1/signaling
	router  *routing.Local
	metrics *metrics.Signaling
}

// newEnv starts a server; adjust may change its Config.
func newEnv(t testing.TB, adjust func(*signaling.Config)) *env {
	t.Helper()
	_, m := metrics.New()
	cfg := signaling.DefaultConfig()
	cfg.Apps, cfg.Router, cfg.Metrics = testApps(), routing.NewLocal(), m
	cfg.ReclaimWindow = time.Second
	if adjust != nil {
		adjust(&cfg)
	}
	srv, err := signaling.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	e := &env{t: t, srv: srv, http: hs, url: "ws" + strings.TrimPrefix(hs.URL, "http") + signaling.Path, metrics: m}
	e.router, _ = cfg.Router.(*routing.Local)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		hs.Close()
	})
	return e
}

// client is a raw protocol client.
type client struct {
	t    testing.TB
	conn *websocket.Conn
	id   string
	in   chan frame
	done chan struct{}
	err  error // why the socket ended, once done is closed
}

type frame struct {
	binary bool
	data   []byte
}

// dialOpts says how to connect.
type dialOpts struct {
	key, peerID, token string
	credential         *protocol.Credential
	// rawCredential, if set, is sent as the credential parameter as it is,
	// in place of credential: for malformed ones.
	rawCredential string
	origin        string
}

// dialRaw connects without waiting for OPEN.
func (e *env) dialRaw(o dialOpts) *client {
	e.t.Helper()
	return e.dialQuery(o.query())
}

// query returns the URL query and headers with which dialRaw connects for o.
func (o dialOpts) query() (url.Values, http.Header) {
	q := url.Values{}
	if o.key == "" {
		o.key = keyA
	}
	q.Set("key", o.key)
	if o.peerID != "" {
		q.Set("peerId", o.peerID)
	}
	if o.token != "" {
		q.Set("token", o.token)
	}
	if o.credential != nil {
		b, _ := json.Marshal(o.credential)
		q.Set("credential", string(b))
	}
	if o.rawCredential != "" {
		q.Set("credential", o.rawCredential)
	}
	h := http.Header{}
	if o.origin != "" {
		h.Set("Origin", o.origin)
	}
	return q, h
}

// dialWS opens a WebSocket to the server with query q and header h; the
// test's cleanup closes it.
func (e *env) dialWS(q url.Values, h http.Header) *websocket.Conn {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, e.url+"?"+q.Encode(), &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		e.t.Fatalf("dial: %v", err)
	}
	conn.SetReadLimit(protocol.MaxFrameSize)
	e.t.Cleanup(func() { conn.CloseNow() })
	return conn
}

// dialQuery connects with exactly query q and header h, for what dialOpts
// cannot say, and starts the client's read loop without waiting for OPEN.
func (e *env) dialQuery(q url.Values, h http.Header) *client {
	e.t.Helper()
	conn := e.dialWS(q, h)
	c := &client{t: e.t, conn: conn, in: make(chan frame, 1024), done: make(chan struct{})}
	go c.readLoop()
	e.t.Cleanup(func() { c.conn.CloseNow(); <-c.done })
	return c
}

// dial connects and waits for OPEN.
func (e *env) dial(o dialOpts) *client {
	e.t.Helper()
	c := e.dialRaw(o)
	var open protocol.OpenPayload
	c.expect(protocol.Open, &open)
	c.id = open.PeerID
	return c
}

func (c *client) readLoop() {
	defer close(c.done)
	for {
		typ, data, err := c.conn.Read(context.Background())
		if err != nil {
			c.err = err
			return
		}
		c.in <- frame{typ == websocket.MessageBinary, data}
	}
}

func (c *client) send(t protocol.MessageType, payload any) {
	c.t.Helper()
	b, err := protocol.Marshal(t, payload)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(b)
}

func (c *client) sendRaw(b []byte) {
	c.t.Helper()
	c.sendFrame(websocket.MessageText, b)
}

func (c *client) sendFrame(typ websocket.MessageType, b []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := c.conn.Write(ctx, typ, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// next returns the next frame, failing after wait.
func (c *client) next() frame {
	c.t.Helper()
	select {
	case f := <-c.in:
		return f
	case <-c.done:
		select {
		case f := <-c.in:
			return f
		default:
		}
		c.t.Fatalf("%s: socket ended while a message was expected: %v", c.id, c.err)
	case <-time.After(wait):
		c.t.Fatalf("%s: no message within %v", c.id, wait)
	}
	return frame{}
}

// expect reads the next text message, which must be of type t, into payload
// (if not nil) and returns its raw payload.
func (c *client) expect(t protocol.MessageType, payload any) json.RawMessage {
	c.t.Helper()
	f := c.next()
	var env protocol.Envelope
	if f.binary {
		c.t.Fatalf("%s: got a binary frame, want %s", c.id, t)
	}
	if err := json.Unmarshal(f.data, &env); err != nil {
		c.t.Fatalf("%s: message %q is not JSON: %v", c.id, f.data, err)
	}
	if env.Type != t {
		c.t.Fatalf("%s: got %s %s, want %s", c.id, env.Type, env.Payload, t)
	}
	if payload != nil {
		if err := json.Unmarshal(env.Payload, payload); err != nil {
			c.t.Fatalf("%s: %s payload %s: %v", c.id, t, env.Payload, err)
		}
	}
	return env.Payload
}

// expectError reads an ERROR, which must be of type et.
func (c *client) expectError(et protocol.ErrorType) protocol.ErrorPayload {
	c.t.Helper()
	var e protocol.ErrorPayload
	c.expect(protocol.Error, &e)
	if e.Type != et {
		c.t.Fatalf("%s: got ERROR %s (%s), want %s", c.id, e.Type, e.Message, et)
	}
	return e
}

// expectNothing checks that no message arrives for a while.
func (c *client) expectNothing() {
	c.t.Helper()
	select {
	case f := <-c.in:
		c.t.Fatalf("%s: unexpected message %s", c.id, f.data)
	case <-time.After(noMessage):
	}
}

// expectClose waits for the server to close the socket with code.
func (c *client) expectClose(code websocket.StatusCode) {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(wait):
		c.t.Fatalf("%s: socket still open, want close %d", c.id, code)
	}
	if got := websocket.CloseStatus(c.err); got != code {
		c.t.Fatalf("%s: closed with %d (%v), want %d", c.id, got, c.err, code)
	}
}

// close closes the socket normally, as Peer.destroy does.
func (c *client) close() {
	c.conn.Close(websocket.StatusNormalClosure, "bye")
	<-c.done
}

// drop ends the socket abruptly, as a network failure would.
func (c *client) drop() {
	c.conn.CloseNow()
	<-c.done
}

// offer is a SEND_OFFER payload to dst.
func offer(dst, connID string) protocol.RelayPayload {
	return protocol.RelayPayload{
		Dst: dst, ConnectionID: connID, ConnectionType: protocol.Media,
		Offer:    &protocol.SessionDescription{Type: "offer", SDP: "v=0\r\n"},
		Metadata: json.RawMessage(`{"caller":"test"}`),
	}
}

// eventually polls cond until it holds or wait passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, wait)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *env) exists(key, id string) bool {
	ok, _ := e.router.Exists(context.Background(), key, id)
	return ok
}
