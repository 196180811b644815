package turn

import (
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/skywasm/skywasm/internal/iplimit"
)

// Read deadlines of a TCP or TLS connection. pion sets none, so without
// them a client that connects and says nothing would hold a goroutine for
// good.
const (
	// firstMessageTimeout bounds the TLS handshake and the first request.
	firstMessageTimeout = 10 * time.Second
	// idleTimeout is longer than the longest allocation lifetime a client
	// may ask for (an hour, RFC 8656), so that a connection is only cut
	// when its allocation would have expired anyway.
	idleTimeout = time.Hour + time.Minute
)

// packetListener is the UDP listener handed to pion. pion's read loop ends
// at the first error from ReadFrom, which tells the Server the loop is
// done.
type packetListener struct {
	*net.UDPConn
	done func()
	once sync.Once
}

// ReadFrom implements net.PacketConn.
func (l *packetListener) ReadFrom(p []byte) (int, net.Addr, error) {
	n, addr, err := l.UDPConn.ReadFrom(p)
	if err != nil {
		l.once.Do(l.done)
	}
	return n, addr, err
}

// streamListener is a TCP or TLS listener handed to pion. It keeps track
// of the connections it accepts, which pion never closes by itself, and
// retries passing errors (such as running out of file descriptors), on
// which pion's accept loop would otherwise end for good. A connection over
// its address's limits (Config.MaxConnsPerIP, HandshakesPerIP) or the
// server's (Config.MaxConns) is closed at once, before pion or TLS sees
// it.
type streamListener struct {
	net.Listener
	s    *Server
	tls  *tls.Config // nil for plain TCP
	once sync.Once
}

// Accept implements net.Listener.
func (l *streamListener) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		raw, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || l.s.isClosed() {
				l.once.Do(l.s.loops.Done)
				return nil, err
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			l.s.log.Warn("turn: failed to accept; retrying", "addr", l.Addr(), "err", err, "delay", delay)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-l.s.closing:
				t.Stop()
			}
			continue
		}
		delay = 0
		ip := addrPort(raw.RemoteAddr()).Addr()
		if why, ok := l.s.connsPerIP.Acquire(ip); !ok {
			reason := reasonIPConns
			if why == iplimit.TooFast {
				reason = reasonIPRate
			}
			l.s.refuseConn(raw, reason)
			continue
		}
		c := &streamConn{Conn: raw, raw: raw, s: l.s, ip: ip}
		if l.tls != nil {
			// Handing pion a *tls.Conn would make it handshake with a
			// deadline of its own; wrapped, the handshake happens in the
			// first Read, under streamConn's deadline.
			c.Conn = tls.Server(raw, l.tls)
		}
		if refusal, ok := l.s.track(c); !ok {
			l.s.connsPerIP.Release(ip)
			if refusal != "" {
				l.s.refuseConn(raw, refusal)
			} else {
				_ = raw.Close()
			}
			continue
		}
		return c, nil
	}
}

// streamConn is an accepted TCP or TLS connection. pion reads it from one
// goroutine of its own and closes it when that goroutine ends, which tells
// the Server the goroutine is done.
type streamConn struct {
	net.Conn            // what pion reads and writes: raw, or TLS on it
	raw      net.Conn   // the TCP connection, closed at shutdown without TLS's goodbye
	ip       netip.Addr // the client's address, whose connsPerIP it holds
	s        *Server
	talked   bool // a Read has returned data; only pion's reader uses it
	once     sync.Once
}

// Read implements net.Conn, with a read deadline.
func (c *streamConn) Read(p []byte) (int, error) {
	d := idleTimeout
	if !c.talked {
		d = firstMessageTimeout
	}
	if err := c.Conn.SetReadDeadline(time.Now().Add(d)); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.talked = true
	}
	return n, err
}

// Close implements net.Conn.
func (c *streamConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.s.untrack(c) })
	return err
}

// refuseConn closes a connection pion never sees, counted as refused for
// reason but logged only at Debug: a flood of connections must not become
// a flood of log lines.
func (s *Server) refuseConn(raw net.Conn, reason string) {
	_ = raw.Close()
	s.refusals[reason].Inc()
	s.log.Debug("turn: refused", "reason", reason, "client", raw.RemoteAddr())
}

// isClosed reports whether Close has begun.
func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// track counts a connection pion is about to serve, unless the server is
// closing (ok false, no refusal) or has Config.MaxConns (the refusal's
// reason). It is called from pion's accept loop, itself counted in loops.
func (s *Server) track(c *streamConn) (refusal string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return "", false
	case len(s.conns) >= s.cfg.MaxConns:
		return reasonConnsFull, false
	}
	s.conns[c] = struct{}{}
	s.loops.Add(1)
	return "", true
}

// untrack uncounts a connection whose goroutine in pion is ending.
func (s *Server) untrack(c *streamConn) {
	s.connsPerIP.Release(c.ip)
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.loops.Done()
}
