package signaling

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// A signaling socket spends most of its life idle, and net/http hands a
// hijacked connection to coder/websocket with a 4 KiB bufio.Reader and a
// 4 KiB bufio.Writer, held for as long as the socket: 8 KiB of every idle
// peer's memory. smallBuffers gives coder/websocket 16-byte ones instead,
// over a socket (below) that borrows a read buffer from a pool only while
// received bytes wait in it, and writes each frame in one system call
// without a buffer of its own.

// smallBufSize is the size of the bufio.Reader and bufio.Writer that
// coder/websocket gets: bufio's least, and more than a frame header of the
// server's (at most 10 bytes), which the writer's coalescing relies on.
const smallBufSize = 16

// readBufSize is the size of a borrowed read buffer: a typical offer and a
// few candidates in one system call. A read into a larger slice of the
// caller's (a big frame's payload) goes straight to the connection.
const readBufSize = 8 << 10

var socketReadBuffers = sync.Pool{New: func() any { return new([readBufSize]byte) }}

// smallBuffers is an http.ResponseWriter whose Hijack returns the socket
// below with small buffers, and gives it to sess. It unwraps like any
// wrapper of net/http's.
type smallBuffers struct {
	http.ResponseWriter
	sess *session
}

func (w smallBuffers) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack implements http.Hijacker.
func (w smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	s := newSocket(conn)
	s.onClose = w.sess.wakeFn
	w.sess.sock = s
	if n := brw.Reader.Buffered(); n > 0 {
		// A client that wrote past its request before the upgrade was
		// answered: those bytes come first.
		if n > readBufSize {
			conn.Close()
			return nil, nil, errors.New("signaling: more than 8 KiB sent before the upgrade was answered")
		}
		s.pend = socketReadBuffers.Get().(*[readBufSize]byte)
		s.end, _ = brw.Reader.Read(s.pend[:n])
	}
	s.br = bufio.NewReaderSize(s, smallBufSize)
	return s, bufio.NewReadWriter(s.br, bufio.NewWriterSize(s, smallBufSize)), nil
}

// errParked is what a parkable socket's Read returns when nothing has come:
// coder/websocket returns it from Reader, having read no byte of a frame,
// and its session gives the socket to the server's poller (see park).
var errParked = errors.New("signaling: socket parked")

// socket is the hijacked connection as coder/websocket sees it. Reads and
// writes each come from one goroutine at a time (coder/websocket's reader,
// and its writer under its frame lock), so its read and write state need no
// lock of their own.
type socket struct {
	net.Conn
	raw syscall.RawConn // nil if the connection has no file descriptor (TLS)

	// Read state: pend[off:end] are received bytes not yet read.
	pend     *[readBufSize]byte
	off, end int
	err      error                 // what the connection said after pend
	recv     func(fd uintptr) bool // s.recvOnce, bound once
	br       *bufio.Reader         // coder/websocket's, over this socket

	// parkable is set by the session at a frame boundary with nothing
	// buffered (see session.readLoop): the next Read, and only it, returns
	// errParked rather than wait if nothing has come. Any Read clears it,
	// so that it is never returned past the first byte of a frame.
	parkable atomic.Bool
	// linger, set with parkable, is how long a busy socket's Read waits
	// for the next frame before it returns errParked (see
	// session.mayPark).
	linger time.Duration
	// peeking makes recvOnce return at once with nothing to read, setting
	// empty.
	peeking, empty bool

	// onClose wakes the parked session: closing the descriptor takes it
	// out of the poller without an event.
	onClose func()

	// Write state: the first bytes of a frame, held until the rest comes.
	hold  [smallBufSize]byte
	nhold int
	need  int // bytes of the current frame still to come after hold
	vec   [2][]byte
	bufs  net.Buffers
}

func newSocket(conn net.Conn) *socket {
	s := &socket{Conn: conn}
	if sc, ok := conn.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			s.raw = raw
			s.recv = s.recvOnce
		}
	}
	return s
}

// Read implements io.Reader. A small read (the bufio.Reader's) waits for
// the connection to be readable before it borrows a buffer, so that a
// socket waiting for its next frame holds none; a parkable socket does not
// wait but returns errParked.
func (s *socket) Read(p []byte) (int, error) {
	if s.parkable.Swap(false) && s.pend == nil && s.err == nil && s.raw != nil {
		if s.linger == 0 {
			if s.idle() {
				return 0, errParked
			}
		} else if s.lingerWait() {
			return 0, errParked
		}
	}
	if len(p) < readBufSize {
		s.wait()
	}
	if s.pend != nil {
		n := copy(p, s.pend[s.off:s.end])
		s.off += n
		if s.off == s.end {
			socketReadBuffers.Put(s.pend)
			s.pend, s.off, s.end = nil, 0, 0
		}
		return n, nil
	}
	if s.err != nil {
		err := s.err
		s.err = nil
		return 0, err
	}
	return s.Conn.Read(p)
}

// idle reports whether nothing has come: it reads what has, if anything,
// into a borrowed buffer for Read, without waiting. False if the socket
// has bytes or an error waiting, or cannot tell (no descriptor).
func (s *socket) idle() bool {
	if s.pend != nil || s.err != nil || s.raw == nil {
		return false
	}
	s.peeking = true
	if err := s.raw.Read(s.recv); err != nil {
		s.err = err
	}
	s.peeking = false
	empty := s.empty
	s.empty = false
	return empty
}

// lingerWait waits up to linger for the connection to be readable, and
// reports whether nothing came. What came, or an error, waits for Read.
func (s *socket) lingerWait() bool {
	if err := s.Conn.SetReadDeadline(time.Now().Add(s.linger)); err != nil {
		return false // closed: Read says so
	}
	s.wait()
	// No error of this one can be news: a closed connection's error is
	// the next read's.
	_ = s.Conn.SetReadDeadline(time.Time{})
	if errors.Is(s.err, os.ErrDeadlineExceeded) {
		s.err = nil
		return true
	}
	return false
}

// wait waits until the connection is readable, then reads what it holds
// into a borrowed buffer, or its error, for Read to return. It is called
// only by Read, under coder/websocket's read lock: the library itself reads
// for the close handshake, from another goroutine.
func (s *socket) wait() {
	if s.pend != nil || s.err != nil || s.raw == nil {
		return
	}
	if err := s.raw.Read(s.recv); err != nil {
		s.err = err
	}
}

// recvOnce is the raw connection's read callback: it reads once into a
// borrowed buffer, and gives the buffer back and asks to wait if there is
// nothing to read yet.
func (s *socket) recvOnce(fd uintptr) bool {
	b := socketReadBuffers.Get().(*[readBufSize]byte)
	for {
		n, err := syscall.Read(int(fd), b[:])
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			socketReadBuffers.Put(b)
			s.empty = s.peeking
			return s.peeking
		case err != nil || n == 0:
			socketReadBuffers.Put(b)
			s.err = err
			if err == nil {
				s.err = io.EOF
			}
		default:
			s.pend, s.off, s.end = b, 0, n
		}
		return true
	}
}

// Close implements net.Conn, and wakes a parked session to see the end.
func (s *socket) Close() error {
	err := s.Conn.Close()
	if s.onClose != nil {
		s.onClose()
	}
	return err
}

// Write implements io.Writer. The bufio.Writer above passes a frame as its
// first 16 bytes (header and the start of the payload), then the rest of
// the payload: the head is held and written with the rest in one system
// call, as with net/http's 4 KiB buffer: copied together into a borrowed
// buffer, or for a frame over its size by writev.
func (s *socket) Write(p []byte) (int, error) {
	if s.nhold > 0 && s.nhold+len(p) <= readBufSize {
		// One write from a borrowed buffer: a writev would make the
		// connection keep an iovec array for good.
		b := socketReadBuffers.Get().(*[readBufSize]byte)
		copy(b[copy(b[:], s.hold[:s.nhold]):], p)
		n, err := s.Conn.Write(b[:s.nhold+len(p)])
		socketReadBuffers.Put(b)
		held := s.nhold
		s.nhold = 0
		s.need = max(0, s.need-len(p))
		return max(0, n-held), err
	}
	if s.nhold > 0 {
		s.vec = [2][]byte{s.hold[:s.nhold], p}
		s.bufs = s.vec[:]
		held := s.nhold
		s.nhold = 0
		s.need = max(0, s.need-len(p))
		n, err := s.bufs.WriteTo(s.Conn)
		s.vec = [2][]byte{}
		return max(0, int(n)-held), err
	}
	if s.need > 0 {
		s.need = max(0, s.need-len(p))
		return s.Conn.Write(p)
	}
	if size, ok := frameSize(p); ok && size > len(p) && len(p) <= len(s.hold) {
		s.nhold = copy(s.hold[:], p)
		s.need = size - len(p)
		return len(p), nil
	}
	return s.Conn.Write(p)
}

// frameSize reads the size of a WebSocket frame, header included, from its
// first bytes; ok is false if they are too few to tell.
func frameSize(p []byte) (size int, ok bool) {
	if len(p) < 2 {
		return 0, false
	}
	head, n := 2, int(p[1]&0x7f)
	switch n {
	case 126:
		if len(p) < 4 {
			return 0, false
		}
		head, n = 4, int(binary.BigEndian.Uint16(p[2:]))
	case 127:
		if len(p) < 10 {
			return 0, false
		}
		l := binary.BigEndian.Uint64(p[2:])
		if l > 1<<40 {
			return 0, false
		}
		head, n = 10, int(l)
	}
	if p[1]&0x80 != 0 {
		head += 4 // masked
	}
	return head + n, true
}
