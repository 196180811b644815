//go:build linux

package poller_test

import (
	"net"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/skywasm/skywasm/internal/poller"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const wait = 5 * time.Second

// pair returns the two ends of a loopback TCP connection.
func pair(t *testing.T) (server, client *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); c.Close() })
	return s.(*net.TCPConn), c.(*net.TCPConn)
}

func rawOf(t *testing.T, c *net.TCPConn) syscall.RawConn {
	t.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// register registers c with a wake that signals the returned channel.
func register(t *testing.T, p *poller.Poller, c *net.TCPConn) (*poller.Conn, chan struct{}) {
	t.Helper()
	woken := make(chan struct{}, 16)
	pc, err := p.Register(rawOf(t, c), func() { woken <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	return pc, woken
}

func woken(t *testing.T, ch chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(wait):
		t.Fatalf("no wake %s", what)
	}
}

func notWoken(t *testing.T, ch chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
		t.Fatalf("woken %s", what)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestWakeOncePerArm(t *testing.T) {
	p := poller.New()
	s, c := pair(t)
	pc, ch := register(t, p, s)
	defer pc.Close()
	if err := pc.Arm(); err != nil {
		t.Fatal(err)
	}
	notWoken(t, ch, "with nothing to read")
	if _, err := c.Write([]byte("a")); err != nil {
		t.Fatal(err)
	}
	woken(t, ch, "once readable")
	// Still readable, but not armed: one wake per arm.
	if _, err := c.Write([]byte("b")); err != nil {
		t.Fatal(err)
	}
	notWoken(t, ch, "again before being armed again")
	// Armed while readable: at once.
	if err := pc.Arm(); err != nil {
		t.Fatal(err)
	}
	woken(t, ch, "armed while readable")
	// Read it all: armed again, quiet until the next byte.
	buf := make([]byte, 8)
	if n, err := s.Read(buf); err != nil || n != 2 {
		t.Fatalf("read %d bytes, %v; want 2", n, err)
	}
	if err := pc.Arm(); err != nil {
		t.Fatal(err)
	}
	notWoken(t, ch, "with everything read")
	if _, err := c.Write([]byte("c")); err != nil {
		t.Fatal(err)
	}
	woken(t, ch, "by the next byte")
}

func TestWakeOnHangUp(t *testing.T) {
	p := poller.New()
	s, c := pair(t)
	pc, ch := register(t, p, s)
	defer pc.Close()
	if err := pc.Arm(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	woken(t, ch, "when the peer closed")
}

func TestClose(t *testing.T) {
	p := poller.New()
	s, c := pair(t)
	pc, ch := register(t, p, s)
	if err := pc.Arm(); err != nil {
		t.Fatal(err)
	}
	pc.Close()
	pc.Close() // a second Close does nothing
	if _, err := c.Write([]byte("a")); err != nil {
		t.Fatal(err)
	}
	notWoken(t, ch, "after Close")

	// A closed connection cannot be armed, and its Conn closes cleanly.
	pc, _ = register(t, p, s)
	s.Close()
	if err := pc.Arm(); err == nil {
		t.Fatal("armed a closed connection")
	}
	pc.Close()
	// goleak (TestMain) checks that the goroutine ended with the last
	// Conn.
}

// TestManyConns arms 200 connections and wakes every one, each exactly
// once, through slots freed and reused.
func TestManyConns(t *testing.T) {
	p := poller.New()
	const n = 200
	type end struct {
		s, c *net.TCPConn
		pc   *poller.Conn
		ch   chan struct{}
	}
	ends := make([]end, n)
	for round := range 2 {
		for i := range ends {
			s, c := pair(t)
			pc, ch := register(t, p, s)
			if err := pc.Arm(); err != nil {
				t.Fatal(err)
			}
			ends[i] = end{s, c, pc, ch}
		}
		for i := range ends {
			if _, err := ends[i].c.Write([]byte{byte(i)}); err != nil {
				t.Fatal(err)
			}
		}
		for i := range ends {
			woken(t, ends[i].ch, "of a connection written to")
		}
		for i := range ends {
			select {
			case <-ends[i].ch:
				t.Fatalf("round %d: connection %d woken twice", round, i)
			default:
			}
			ends[i].pc.Close()
		}
	}
}

// TestArmAllocatesNothing: a socket parks with every message it waits
// for, so arming must cost no garbage.
func TestArmAllocatesNothing(t *testing.T) {
	p := poller.New()
	s, _ := pair(t)
	pc, _ := register(t, p, s)
	defer pc.Close()
	if err := pc.Arm(); err != nil {
		t.Fatal(err)
	}
	if allocs := testing.AllocsPerRun(100, func() {
		if err := pc.Arm(); err != nil {
			t.Fatal(err)
		}
	}); allocs != 0 {
		t.Fatalf("Arm allocated %v times, want 0", allocs)
	}
}
