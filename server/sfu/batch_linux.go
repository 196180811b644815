//go:build linux

package sfu

import (
	"net"
	"net/netip"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/skywasm/skywasm/server/metrics"
)

// Batched writes: the SFU's packets leave in one sendmmsg(2) per drain
// pass rather than one sendto(2) each.
//
// A goroutine that sends to subscribers (a send worker's pass over its
// queues, a track's inline fan-out) holds the socket for the pass: every
// write made while anyone holds it is copied into the current batch, and
// the batch goes to the kernel when it is full or when a holder releases.
// A write made while nobody holds the socket (RTCP, ICE, DTLS at rest)
// goes straight out. So a packet waits at most for the pass it was
// written in, and for nothing when the SFU is idle.
//
// Batches are sent one at a time, in the order they were taken, and a
// direct write waits for the batch being sent: a subscriber's packets
// reach the kernel in the order they were written.
//
// On this machine's loopback, sendto costs about 5 µs a 1,200-byte packet
// from Go and sendmmsg about 2.3 µs a packet in batches of 32 (see
// BenchmarkSocketWrite).

// batchSize is the most packets one sendmmsg carries.
const batchSize = 64

// batchMTU is the largest packet a batch slot holds; a larger one is
// written on its own.
const batchMTU = 1500

// batch is the packets of one sendmmsg, with the kernel's view of them
// (hdrs, iovs, names) set up once and pointing into it.
type batch struct {
	n     int
	hdrs  [batchSize]unix.Mmsghdr
	iovs  [batchSize]unix.Iovec
	names [batchSize]unix.RawSockaddrInet6 // or RawSockaddrInet4 in its first bytes
	bufs  [batchSize][batchMTU]byte
}

func newBatch() *batch {
	b := &batch{}
	for i := range b.hdrs {
		b.iovs[i].Base = &b.bufs[i][0]
		b.hdrs[i].Hdr.Iov = &b.iovs[i]
		b.hdrs[i].Hdr.SetIovlen(1)
		b.hdrs[i].Hdr.Name = (*byte)(unsafe.Pointer(&b.names[i]))
	}
	return b
}

// add copies p, to a, into the next slot. ok is false if p is not an
// address the socket can send to (an IPv6 one on an IPv4 socket).
func (b *batch) add(p []byte, a netip.AddrPort, v6 bool) (ok bool) {
	i := b.n
	ip := a.Addr()
	port := a.Port()
	h := &b.hdrs[i].Hdr
	if v6 {
		sa := &b.names[i]
		*sa = unix.RawSockaddrInet6{Family: unix.AF_INET6}
		putPort(&sa.Port, port)
		sa.Addr = ip.As16()
		h.Namelen = unix.SizeofSockaddrInet6
	} else {
		if !ip.Unmap().Is4() {
			return false
		}
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&b.names[i]))
		*sa = unix.RawSockaddrInet4{Family: unix.AF_INET}
		putPort(&sa.Port, port)
		sa.Addr = ip.Unmap().As4()
		h.Namelen = unix.SizeofSockaddrInet4
	}
	copy(b.bufs[i][:], p)
	b.iovs[i].SetLen(len(p))
	b.n++
	return true
}

// putPort stores port in network byte order at dst.
func putPort(dst *uint16, port uint16) {
	b := (*[2]byte)(unsafe.Pointer(dst))
	b[0], b[1] = byte(port>>8), byte(port)
}

// batchConn is the SFU's UDP socket as pion's ICE mux sees it: it
// implements ice.AddrPortReaderWriter, which the mux prefers, and
// net.PacketConn's WriteTo, which it falls back to.
type batchConn struct {
	*net.UDPConn
	raw syscall.RawConn
	v6  bool // an AF_INET6 socket: IPv4 destinations go v4-mapped
	on  bool // Config.BatchWrites: without it, hold does nothing

	mu      sync.Mutex
	holders int
	cur     *batch

	// sendMu orders the batches' sends and the direct writes; it is
	// taken with mu held and mu released after, so that sends happen in
	// the order batches were taken.
	sendMu sync.Mutex
	spare  chan *batch
	// Under sendMu: the batch being sent, how much of it has gone, and
	// the raw write function (sendmmsg's method value).
	sending *batch
	off     int
	write   func(fd uintptr) bool

	m *metrics.SFU
}

func newBatchConn(conn *net.UDPConn, on bool, m *metrics.SFU) (*batchConn, error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	ip := conn.LocalAddr().(*net.UDPAddr).IP
	c := &batchConn{UDPConn: conn, raw: raw, v6: ip.To4() == nil, on: on, cur: newBatch(), spare: make(chan *batch, 2), m: m}
	c.write = c.sendmmsg
	return c, nil
}

// hold starts a pass: writes wait in the batch until release.
func (c *batchConn) hold() {
	if !c.on {
		return
	}
	c.mu.Lock()
	c.holders++
	c.mu.Unlock()
}

// release ends a pass and sends what the batch holds.
func (c *batchConn) release() {
	if !c.on {
		return
	}
	c.mu.Lock()
	c.holders--
	if c.cur.n == 0 {
		c.mu.Unlock()
		return
	}
	c.flushLocked()
}

// flushLocked takes the current batch and sends it; it is called with mu
// held and returns with it released.
func (c *batchConn) flushLocked() {
	b := c.cur
	select {
	case c.cur = <-c.spare:
	default:
		c.cur = newBatch()
	}
	c.sendMu.Lock()
	c.mu.Unlock()
	c.send(b)
	c.sendMu.Unlock()
	b.n = 0
	select {
	case c.spare <- b:
	default:
	}
}

// send writes b's packets, with sendMu held. A packet the kernel refuses
// is dropped, as a failed sendto's would be; a closed socket drops them
// all.
func (c *batchConn) send(b *batch) {
	c.m.WriteBatches.Inc()
	c.m.BatchedPackets.Add(float64(b.n))
	c.sending = b
	for c.off = 0; c.off < b.n; {
		if err := c.raw.Write(c.write); err != nil {
			break
		}
	}
	c.sending = nil
}

// sendmmsg is the raw socket's write function for send: it tries once to
// send what remains of c.sending, and says false when the socket is full
// so that the runtime waits for room. It is a method value made once, so
// that a send allocates nothing.
func (c *batchConn) sendmmsg(fd uintptr) bool {
	b := c.sending
	r, _, e := syscall.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&b.hdrs[c.off])), uintptr(b.n-c.off), 0, 0, 0)
	switch {
	case e == syscall.EAGAIN:
		return false
	case e != 0:
		c.off++ // the first packet failed
	default:
		c.off += int(r)
	}
	return true
}

// WriteToAddrPort implements ice.AddrPortReaderWriter.
func (c *batchConn) WriteToAddrPort(p []byte, a netip.AddrPort) (int, error) {
	c.mu.Lock()
	if c.holders == 0 || len(p) > batchMTU {
		// Nobody holds the socket, so the batch is empty or being sent.
		if c.cur.n > 0 {
			c.flushLocked()
			c.mu.Lock()
		}
		c.sendMu.Lock()
		c.mu.Unlock()
		defer c.sendMu.Unlock()
		return c.UDPConn.WriteToUDPAddrPort(p, a)
	}
	if !c.cur.add(p, a, c.v6) {
		c.mu.Unlock()
		return 0, &net.OpError{Op: "write", Net: "udp", Source: c.LocalAddr(), Addr: net.UDPAddrFromAddrPort(a), Err: syscall.EAFNOSUPPORT}
	}
	if c.cur.n == batchSize {
		c.flushLocked()
		return len(p), nil
	}
	c.mu.Unlock()
	return len(p), nil
}

// ReadFromAddrPort implements ice.AddrPortReaderWriter.
func (c *batchConn) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	return c.UDPConn.ReadFromUDPAddrPort(p)
}

// WriteTo implements net.PacketConn, through WriteToAddrPort.
func (c *batchConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return c.UDPConn.WriteTo(p, addr)
	}
	return c.WriteToAddrPort(p, ua.AddrPort())
}
