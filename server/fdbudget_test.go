//go:build unix

package server_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/stun/v4"
	pionturn "github.com/pion/turn/v5"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server"
	"github.com/skywasm/skywasm/server/signaling"
	"github.com/skywasm/skywasm/server/turn"
)

// The fd budget test runs the server in a child process, the test binary
// itself with fdChildEnv set, whose file-descriptor limit is fdLimit.
const (
	fdChildEnv = "SKYWASM_TEST_FD_BUDGET_CHILD"
	fdLimit    = 256
	// fdChildLine starts the line on which the child gives its addresses.
	fdChildLine = "FDBUDGET "
)

// TestFDBudgetServer is the child of TestFDBudget: a server with TURN in a
// process of fdLimit descriptors, until its standard input ends. It is
// skipped unless TestFDBudget runs it.
func TestFDBudgetServer(t *testing.T) {
	if os.Getenv(fdChildEnv) == "" {
		t.Skip("the child process of TestFDBudget")
	}
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		t.Fatal(err)
	}
	l.Cur = fdLimit
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Apps[0].Permissions.TURN = true
	tc := turn.DefaultConfig()
	tc.UDPAddr, tc.TCPAddr = "127.0.0.1:0", "127.0.0.1:0" // MaxAllocations and MaxConns: the defaults, from the limit
	e := serveEnv(t, server.Options{Config: cfg, TURN: &tc}, true)
	fmt.Printf("%shttp=%s turn=%s tcp=%s\n", fdChildLine, e.http.URL, e.srv.TURN().UDPAddr(), e.srv.TURN().TCPAddr())
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent is done
}

// TestFDBudget: TURN allocations and connections from many clients cannot
// starve signaling and /healthz of file descriptors. In a server process
// limited to 256 descriptors, 248 allocations are asked for from 8 client
// addresses (31 each, under the per-address cap): a quarter of the limit
// is granted and the rest refused with 486. Then 320 TCP connections to
// TURN are opened from the same addresses (40 each, under the per-address
// limits): as many as allocations are served and the rest closed. New
// signaling peers still connect and /healthz answers 200. Without the
// server-wide cap, 243 allocations took every descriptor, as did TCP
// connections without theirs: signaling and /healthz were refused.
func TestFDBudget(t *testing.T) {
	if os.Getenv(fdChildEnv) != "" {
		t.Skip("in the child process")
	}
	t.Parallel()
	const (
		addresses = 8
		perAddr   = 31 // under turn.DefaultMaxAllocationsPerIP
		peers     = 50
		granted   = fdLimit / 4 // turn.Config.MaxAllocations's default, and MaxConns's
		connsPer  = 40          // under turn.DefaultMaxConnsPerIP and its burst
	)
	httpURL, turnAddr, tcpAddr := startFDChild(t)

	// The allocations, held until the test ends.
	ok, refused := 0, 0
	var other []error
	for a := range addresses {
		for i := range perAddr {
			peerID := fmt.Sprintf("farm-%d-%d", a, i) // each peer under its own cap
			err := allocate(t, fmt.Sprintf("127.0.0.%d", a+1), turnAddr, peerID)
			var te *stun.TurnError
			switch {
			case err == nil:
				ok++
			case errors.As(err, &te) && te.ErrorCodeAttr.Code == stun.CodeAllocQuotaReached:
				refused++
			default:
				other = append(other, err)
			}
		}
	}
	t.Logf("%d allocations granted, %d refused with 486, %d failed otherwise", ok, refused, len(other))

	// TCP connections, held until the test ends if served.
	served := 0
	for a := range addresses {
		for range connsPer {
			ok, err := holdTCP(t, fmt.Sprintf("127.0.0.%d", a+1), tcpAddr)
			if err != nil {
				t.Fatalf("after %d TCP connections served: %v", served, err)
			}
			if ok {
				served++
			}
		}
	}
	t.Logf("%d TCP connections served, %d closed", served, addresses*connsPer-served)

	// Signaling and health still have descriptors.
	for i := range peers {
		if err := dialPeer(t, httpURL, fmt.Sprintf("late-%d", i)); err != nil {
			t.Fatalf("signaling peer %d of %d after the allocations: %v", i+1, peers, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, httpURL+"/healthz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("/healthz after the allocations: %v", err)
	}
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz after the allocations: %d", resp.StatusCode)
	}

	if len(other) > 0 {
		t.Fatalf("%d allocations failed with something other than 486, the first: %v", len(other), other[0])
	}
	if ok != granted || refused != addresses*perAddr-granted {
		t.Fatalf("%d allocations granted and %d refused, want %d and %d", ok, refused, granted, addresses*perAddr-granted)
	}
	if served != granted {
		t.Fatalf("%d TCP connections served, want %d", served, granted)
	}
}

// holdTCP opens a TCP connection to TURN from local address ip and asks a
// STUN Binding: if it is answered (ok) the connection is held until the
// test ends. One the server closes unanswered is refused; one it neither
// answers nor closes (it has no descriptor to accept it with) is an error.
func holdTCP(t *testing.T, ip, tcpAddr string) (ok bool, err error) {
	t.Helper()
	d := &net.Dialer{Timeout: wait, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c, err := d.Dial("tcp", tcpAddr)
	if err != nil {
		return false, err
	}
	_ = c.SetDeadline(time.Now().Add(wait))
	var m *stun.Message
	if _, err = c.Write(stun.MustBuild(stun.TransactionID, stun.BindingRequest).Raw); err == nil {
		buf := make([]byte, 1500)
		var n int
		if n, err = c.Read(buf); err == nil {
			m = &stun.Message{Raw: buf[:n]}
			err = m.Decode()
		}
	}
	if err != nil || m.Type != stun.BindingSuccess {
		_ = c.Close()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return false, fmt.Errorf("a connection from %s neither answered nor closed in %v", ip, wait)
		}
		return false, nil
	}
	t.Cleanup(func() { _ = c.Close() })
	return true, nil
}

// startFDChild runs TestFDBudgetServer in a child process and returns its
// HTTP URL and TURN UDP and TCP addresses. The child ends with the test.
func startFDChild(t *testing.T) (httpURL, turnAddr, tcpAddr string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestFDBudgetServer$", "-test.count", "1")
	cmd.Env = append(os.Environ(), fdChildEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	rest := make(chan string, 1) // the child's other output, once it ends
	go func() {
		var other strings.Builder
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if line, ok := strings.CutPrefix(sc.Text(), fdChildLine); ok {
				lines <- line
				continue
			}
			other.WriteString(sc.Text() + "\n")
		}
		rest <- other.String()
	}()
	t.Cleanup(func() {
		_ = stdin.Close() // the child shuts its server down and exits
		out := <-rest
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("child: %v\n%s%s", err, out, stderr.String())
			}
		case <-time.After(4 * wait):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("child did not end\n%s%s", out, stderr.String())
		}
	})
	select {
	case line := <-lines:
		if _, err := fmt.Sscanf(line, "http=%s turn=%s tcp=%s", &httpURL, &turnAddr, &tcpAddr); err != nil {
			t.Fatalf("child said %q: %v", line, err)
		}
		return httpURL, turnAddr, tcpAddr
	case <-time.After(4 * wait):
		t.Fatal("the child did not start its server")
	}
	return "", "", ""
}

// allocate makes an allocation over UDP from local address ip for peerID
// of the test app, held until the test ends; a refused client is closed at
// once.
func allocate(t *testing.T, ip, turnAddr, peerID string) error {
	t.Helper()
	conn, err := net.ListenPacket("udp4", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	username := turn.Username(time.Now().Add(time.Hour), key, peerID)
	c, err := pionturn.NewClient(&pionturn.ClientConfig{
		STUNServerAddr: turnAddr, TURNServerAddr: turnAddr, Conn: conn,
		Username: username, Password: turn.Password(secret, username), RTO: 200 * time.Millisecond,
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
	relay, err := c.Allocate()
	if err != nil {
		c.Close()
		_ = conn.Close()
		return err
	}
	t.Cleanup(func() {
		_ = relay.Close()
		c.Close()
		_ = conn.Close()
	})
	return nil
}

// dialPeer connects a signaling peer and waits for its OPEN; the socket
// stays open until the test ends.
func dialPeer(t *testing.T, httpURL, peerID string) error {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	q := url.Values{"key": {key}, "peerId": {peerID}}
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(httpURL, "http")+signaling.Path+"?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	t.Cleanup(func() { conn.CloseNow() })
	_, data, err := conn.Read(ctx)
	if err != nil {
		return fmt.Errorf("no OPEN: %w", err)
	}
	if !strings.Contains(string(data), `"type":"`+string(protocol.Open)+`"`) {
		return fmt.Errorf("got %.200s, want OPEN", data)
	}
	return nil
}
