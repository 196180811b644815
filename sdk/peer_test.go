//go:build !js

package sdk_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/skywasm/skywasm/internal/sdktest"
	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/sdk"
	"github.com/skywasm/skywasm/server/signaling"
)

func TestNewPeerRefusesBadOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts sdk.PeerOptions
		want sdk.ErrorType
	}{
		{"upper-case key", sdk.PeerOptions{Key: "0F6A7C3E-1D2B-4C5A-9E8F-112233445566", URL: "http://127.0.0.1:1"}, sdk.ErrorInvalidKey},
		{"not a UUID", sdk.PeerOptions{Key: "key", URL: "http://127.0.0.1:1"}, sdk.ErrorInvalidKey},
		{"bad ID", sdk.PeerOptions{Key: sdktest.Key, ID: "a/b", URL: "http://127.0.0.1:1"}, sdk.ErrorInvalidID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := sdk.NewPeer(tc.opts)
			if p != nil || errorType(err) != tc.want {
				t.Errorf("NewPeer: %v, want a %s error", err, tc.want)
			}
		})
	}
	if _, err := sdk.NewPeer(sdk.PeerOptions{Key: sdktest.Key}); err == nil {
		t.Error("NewPeer without a server address succeeded")
	}
}

func TestOpenAndChosenID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	opened := make(chan string, 1)
	p := e.newPeer(sdk.PeerOptions{ID: "alice smith"})
	p.OnOpen(func(id string) { opened <- id })
	if id := recv(t, opened, "open"); id != "alice smith" || p.ID() != id || !p.Open() {
		t.Errorf("open %q, ID %q, Open %v", id, p.ID(), p.Open())
	}
	q := e.peer(sdk.PeerOptions{})
	if len(q.ID()) != protocol.GeneratedPeerIDLength {
		t.Errorf("assigned ID %q", q.ID())
	}
}

// TestLateOpenHandler: an open event that fires before OnOpen is set, as it
// can in Go (in JavaScript it cannot), is delivered when the handler is set,
// once; one that WaitOpen returned is not.
func TestLateOpenHandler(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.newPeer(sdk.PeerOptions{ID: "late"})
	for deadline := time.Now().Add(wait); !p.Open(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the peer did not open")
		}
	}
	time.Sleep(50 * time.Millisecond) // for the event to fire
	opened := make(chan string, 2)
	p.OnOpen(func(id string) { opened <- id })
	if id := recv(t, opened, "open"); id != "late" {
		t.Errorf("open %q", id)
	}
	p.OnOpen(func(id string) { opened <- id })
	waited := e.peer(sdk.PeerOptions{})
	waited.OnOpen(func(id string) { opened <- id })
	select {
	case id := <-opened:
		t.Errorf("open delivered twice, or after WaitOpen (%q)", id)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestUnavailableID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.peer(sdk.PeerOptions{ID: "taken"})
	p := e.newPeer(sdk.PeerOptions{ID: "taken"})
	errs := make(chan error, 4)
	p.OnError(func(err error) { errs <- err })
	if err := recv(t, errs, "error"); errorType(err) != sdk.ErrorUnavailableID {
		t.Errorf("error %v, want unavailable-id", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := p.WaitOpen(ctx); errorType(err) != sdk.ErrorUnavailableID {
		t.Errorf("WaitOpen: %v, want unavailable-id", err)
	}
}

// TestPeerUnavailable: as in SkyWay, a connection to nobody, or to an ID
// nobody can have, is returned, and peer-unavailable is the Peer's error
// alone: the connection gets no error and no close until it is closed.
func TestPeerUnavailable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.peer(sdk.PeerOptions{})
	peerErrs := make(chan error, 4)
	p.OnError(func(err error) { peerErrs <- err })
	for _, tc := range []struct{ name, remote string }{{"nobody", "nobody"}, {"empty ID", ""}, {"invalid ID", "a/b"}} {
		dc, err := p.Connect(tc.remote, nil)
		if err != nil || dc == nil {
			t.Fatalf("%s: Connect: %v, %v; want a connection", tc.name, dc, err)
		}
		closed := make(chan struct{})
		dc.OnClose(func() { close(closed) })
		dc.OnError(func(err error) { t.Errorf("%s: the connection's error event: %v", tc.name, err) })
		err = recv(t, peerErrs, "peer error")
		var e2 *sdk.Error
		if !errors.As(err, &e2) || e2.Type != sdk.ErrorPeerUnavailable {
			t.Errorf("%s: error %#v, want peer-unavailable", tc.name, err)
		}
		select {
		case <-closed:
			t.Errorf("%s: the connection closed by itself", tc.name)
		case <-time.After(300 * time.Millisecond):
		}
		dc.Close(false)
		within(t, closed, time.Second, tc.name+": close after Close")
		if p.GetConnection(tc.remote, dc.ID()) != nil {
			t.Errorf("%s: the closed connection is still listed", tc.name)
		}
	}
}

func TestCallNotOpen(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.peer(sdk.PeerOptions{})
	p.Disconnect()
	if _, err := p.Connect("x", nil); !errors.Is(err, &sdk.Error{Type: sdk.ErrorDisconnected}) {
		t.Errorf("Connect while disconnected: %v", err)
	}
	if _, err := p.Call("x", nil, nil); errorType(err) != sdk.ErrorDisconnected {
		t.Errorf("Call while disconnected: %v", err)
	}
	if _, err := p.Connect("x", &sdk.ConnectOptions{Serialization: "xml"}); err == nil {
		t.Error("an unknown serialization was accepted")
	}
	// Disconnect released the ID at once; Reconnect takes it again.
	id := p.ID()
	if err := p.Reconnect(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if got, err := p.WaitOpen(ctx); err != nil || got != id {
		t.Errorf("after Reconnect: %q %v, want %q", got, err, id)
	}
}

func TestListAndExists(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b := e.peer(sdk.PeerOptions{}), e.peer(sdk.PeerOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ids, err := a.ListAllPeers(ctx)
	if err != nil || !slices.Contains(ids, a.ID()) || !slices.Contains(ids, b.ID()) {
		t.Errorf("ListAllPeers: %v %v", ids, err)
	}
	if ok, err := a.FetchPeerExists(ctx, b.ID()); !ok || err != nil {
		t.Errorf("FetchPeerExists(b): %v %v", ok, err)
	}
	if _, err := a.FetchPeerExists(ctx, "nobody"); !errors.Is(err, sdk.ErrTooManyRequests) {
		t.Errorf("a second FetchPeerExists within a second: %v", err)
	}
	time.Sleep(time.Second)
	if ok, err := a.FetchPeerExists(ctx, "nobody"); ok || err != nil {
		t.Errorf("FetchPeerExists(nobody): %v %v", ok, err)
	}
}

// TestCloseBothWays ends a data connection each way it can end and checks
// that both sides' close events fire within a second.
func TestCloseBothWays(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		end  func(near, far *sdk.DataConnection, nearPeer, farPeer *sdk.Peer)
	}{
		{"caller closes", func(near, _ *sdk.DataConnection, _, _ *sdk.Peer) { near.Close(false) }},
		{"caller force-closes", func(near, _ *sdk.DataConnection, _, _ *sdk.Peer) { near.Close(true) }},
		{"callee closes", func(_, far *sdk.DataConnection, _, _ *sdk.Peer) { far.Close(false) }},
		{"callee force-closes", func(_, far *sdk.DataConnection, _, _ *sdk.Peer) { far.Close(true) }},
		{"caller destroys its peer", func(_, _ *sdk.DataConnection, p, _ *sdk.Peer) { p.Destroy() }},
		{"callee destroys its peer", func(_, _ *sdk.DataConnection, _, p *sdk.Peer) { p.Destroy() }},
	}
	e := newEnv(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, b := e.peer(sdk.PeerOptions{}), e.peer(sdk.PeerOptions{})
			near, far, _ := connectPeers(t, a, b, nil)
			nearClosed, farClosed := make(chan struct{}), make(chan struct{})
			near.OnClose(func() { close(nearClosed) })
			far.OnClose(func() { close(farClosed) })
			start := time.Now()
			tc.end(near, far, a, b)
			within(t, nearClosed, time.Second, "the caller's close")
			d1 := time.Since(start)
			within(t, farClosed, time.Second, "the callee's close")
			t.Logf("%s: both closes fired within %v", tc.name, max(d1, time.Since(start)))
			if near.Open() || far.Open() {
				t.Error("a closed connection says it is open")
			}
		})
	}
}

// TestCloseOnLeave: the far peer vanishes without closing anything (its
// network drops and it never returns); the server's LEAVE closes the
// connection on this side.
func TestCloseOnLeave(t *testing.T) {
	t.Parallel()
	srv := sdktest.StartServer(t, func(c *signaling.Config) { c.ReclaimWindow = 200 * time.Millisecond })
	proxy := sdktest.StartProxy(t, srv.URL)
	e := &env{t: t, srv: srv, url: srv.URL}
	a := e.peer(sdk.PeerOptions{})
	b := e.peer(sdk.PeerOptions{URL: proxy.URL, NoReconnect: true})
	near, _, _ := connectPeers(t, a, b, nil)
	closed := make(chan struct{})
	near.OnClose(func() { close(closed) })
	proxy.Cut()
	// The reclaim window (200 ms) passes, then LEAVE arrives.
	d := within(t, closed, 2*time.Second, "close after the far peer left")
	t.Logf("closed %v after the far peer's network dropped", d)
}

// TestReclaimAfterDrop: the network drops the signaling socket; the peer
// reports disconnected, reconnects under the same ID with its token and
// reports reconnected (not open), while its data connection keeps working.
func TestReclaimAfterDrop(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	proxy := sdktest.StartProxy(t, e.url)
	a := e.peer(sdk.PeerOptions{URL: proxy.URL, ReconnectDelay: 100 * time.Millisecond})
	b := e.peer(sdk.PeerOptions{})
	id := a.ID()
	near, _, received := connectPeers(t, a, b, nil)
	events := make(chan string, 8)
	a.OnDisconnected(func(id string) { events <- "disconnected " + id })
	a.OnOpen(func(id string) { events <- "open " + id })
	a.OnReconnected(func(id string) { events <- "reconnected " + id })
	proxy.Cut()
	if ev := recv(t, events, "disconnected"); ev != "disconnected "+id {
		t.Fatalf("event %q", ev)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	// The data connection does not need signaling.
	if err := near.Send(ctx, "during the outage"); err != nil {
		t.Fatal(err)
	}
	if v := recv(t, received, "data during the outage"); v != "during the outage" {
		t.Errorf("got %v", v)
	}
	// Open fires once per Peer, as in SkyWay: the transparent reconnection
	// is reconnected's.
	if ev := recv(t, events, "reconnected"); ev != "reconnected "+id {
		t.Fatalf("event %q, want reconnected with the same ID", ev)
	}
	if !a.Open() || a.ID() != id {
		t.Errorf("Open %v, ID %q", a.Open(), a.ID())
	}
	// Signaling works again: a new connection through the reclaimed ID.
	if _, _, _ = connectPeers(t, b, a, nil); !near.Open() {
		t.Error("the old connection closed")
	}
}

func TestDestroy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b := e.peer(sdk.PeerOptions{}), e.peer(sdk.PeerOptions{})
	connectPeers(t, a, b, nil)
	closes := make(chan struct{}, 4)
	a.OnClose(func() { closes <- struct{}{} })
	a.Destroy()
	a.Destroy()
	recv(t, closes, "close")
	select {
	case <-closes:
		t.Error("close fired twice")
	case <-time.After(200 * time.Millisecond):
	}
	if a.Open() || len(a.Connections()) != 0 {
		t.Errorf("after Destroy: Open %v, %d connections", a.Open(), len(a.Connections()))
	}
	if _, err := a.Connect(b.ID(), nil); err == nil {
		t.Error("Connect after Destroy succeeded")
	}
	// goleak in TestMain checks that nothing of a's is left running.
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	good := sdk.SignCredential(sdktest.Secret, "carol", time.Now(), time.Hour)
	p := e.peer(sdk.PeerOptions{Key: sdktest.AuthKey, ID: "carol", Credential: &good})
	if err := p.UpdateCredential(sdk.SignCredential(sdktest.Secret, "carol", time.Now(), 2*time.Hour)); err != nil {
		t.Errorf("UpdateCredential: %v", err)
	}

	forged := sdk.SignCredential("another secret", "dave", time.Now(), time.Hour)
	q := e.newPeer(sdk.PeerOptions{Key: sdktest.AuthKey, ID: "dave", Credential: &forged, ReconnectDelay: 10 * time.Millisecond})
	errs := make(chan error, 8)
	q.OnError(func(err error) { errs <- err })
	if err := recv(t, errs, "error"); errorType(err) != sdk.ErrorAuthentication {
		t.Errorf("forged credential: %v, want authentication", err)
	}
	// A refusal is final: the peer does not keep knocking.
	select {
	case err := <-errs:
		t.Errorf("a second error after a refusal: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
}

// TestExpiresIn: the server warns before the credential expires; the
// expiresin event fires and UpdateCredential answers it.
func TestExpiresIn(t *testing.T) {
	t.Parallel()
	ttl := time.Duration(protocol.MinCredentialTTL) * time.Second
	srv := sdktest.StartServer(t, func(c *signaling.Config) { c.AuthExpiryWarning = ttl - 500*time.Millisecond })
	e := &env{t: t, srv: srv, url: srv.URL}
	cred := sdk.SignCredential(sdktest.Secret, "erin", time.Now(), ttl)
	p := e.newPeer(sdk.PeerOptions{Key: sdktest.AuthKey, ID: "erin", Credential: &cred})
	warned := make(chan int64, 2)
	p.OnExpiresIn(func(s int64) { warned <- s })
	if s := recv(t, warned, "expiresin"); s < int64(ttl/time.Second)-5 || s > int64(ttl/time.Second) {
		t.Errorf("expiresin %d s, want about %d", s, int64(ttl/time.Second))
	}
	if err := p.UpdateCredential(sdk.SignCredential(sdktest.Secret, "erin", time.Now(), 2*ttl)); err != nil {
		t.Fatal(err)
	}
	if !p.Open() {
		t.Error("the peer closed after renewing its credential")
	}
}

// TestServerRestart: the server goes away (closing every socket with 1001)
// and comes back empty; the peer reconnects by itself and gets its ID back
// (reconnected, not open), and its data connection runs on meanwhile.
func TestServerRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.peer(sdk.PeerOptions{ReconnectDelay: 50 * time.Millisecond})
	b := e.peer(sdk.PeerOptions{ReconnectDelay: 50 * time.Millisecond})
	id := a.ID()
	near, _, received := connectPeers(t, a, b, nil)
	events := make(chan string, 8)
	a.OnDisconnected(func(string) { events <- "disconnected" })
	a.OnOpen(func(id string) { events <- "open " + id })
	a.OnReconnected(func(id string) { events <- "reconnected " + id })
	e.srv.Restart(t)
	if ev := recv(t, events, "disconnected"); ev != "disconnected" {
		t.Fatalf("event %q", ev)
	}
	// Open fires once per Peer, as in SkyWay: the transparent reconnection
	// is reconnected's.
	if ev := recv(t, events, "reconnected"); ev != "reconnected "+id {
		t.Fatalf("event %q, want reconnected with the same ID", ev)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := near.Send(ctx, "after the restart"); err != nil {
		t.Fatal(err)
	}
	if v := recv(t, received, "data"); v != "after the restart" {
		t.Errorf("got %v", v)
	}
}
