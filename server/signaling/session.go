package signaling

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/skywasm/skywasm/internal/wheel"
	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/routing"
)

// session is one signaling socket of a peer.
type session struct {
	srv  *Server
	p    *peer
	conn *websocket.Conn

	out    chan *routing.Message
	queued atomic.Int64 // bytes in out

	closeOnce sync.Once
	closing   chan struct{} // closed by close; the fields below are set first
	code      websocket.StatusCode
	reason    string
	mode      endMode
	last      *routing.Message // written just before the close frame

	lastSeen      atomic.Int64 // Unix nanoseconds of the last frame or pong
	writeDeadline atomic.Int64 // Unix nanoseconds by which the current write must end; 0 between writes

	// The timer wheel's state, under tmu (see check).
	tmu      sync.Mutex
	timer    *wheel.Timer
	ended    bool  // run is over: no more checks or pings
	nextPing int64 // Unix nanoseconds
	pinging  atomic.Bool
	pings    sync.WaitGroup

	// The reader's own state.
	bucket      bucket
	rate, burst int    // the bucket's: the app's, else the server's
	logs        bucket // paces ROOM_GET_LOGS
	limited     int
	msg         protocol.ClientMessage
	buf         bytes.Buffer
	head        io.LimitedReader // the first LargeFrame bytes of a message
}

// maxKeptBuffer is the largest read buffer kept between messages.
const maxKeptBuffer = 1 << 20

// newSession returns a session; init completes it once its socket and peer
// are known. It exists before the socket is accepted so that the socket's
// pong callback has a session to tell.
func newSession(srv *Server) *session {
	s := &session{srv: srv, closing: make(chan struct{})}
	s.seen(srv.cfg.Now())
	return s
}

func (s *session) init(p *peer, conn *websocket.Conn) {
	now := s.srv.cfg.Now()
	s.p, s.conn = p, conn
	s.out = make(chan *routing.Message, s.srv.cfg.QueueLength)
	s.rate, s.burst = s.srv.cfg.MessageRate, s.srv.cfg.MessageBurst
	if l := p.app.Limits; l.MessageRate > 0 {
		s.rate, s.burst = l.MessageRate, max(l.MessageBurst, l.MessageRate)
	}
	s.bucket = newBucket(s.rate, s.burst, now)
	s.logs = everyBucket(s.srv.cfg.RoomLogsInterval, s.srv.cfg.RoomLogsBurst, now)
	s.seen(now)
	s.nextPing = now.UnixNano() + int64(s.srv.cfg.PingInterval)
}

// run serves the socket until it ends, then tells the peer how it ended.
func (s *session) run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// OPEN goes first, before anything kept for a reclaimed peer.
	if open := s.p.composed(protocol.Open, protocol.OpenPayload{PeerID: s.p.id, TURNCredential: s.p.turnCredential()}); open != nil {
		s.enqueue(open)
	}
	if !s.p.attach(s) {
		s.conn.Close(websocket.StatusGoingAway, "peer ended")
		return
	}
	var wg sync.WaitGroup
	wg.Go(func() { s.writeLoop(ctx) })
	s.tmu.Lock()
	s.timer = s.srv.wheel.AfterFunc(min(s.srv.cfg.PingInterval, s.srv.cfg.IdleTimeout, s.srv.cfg.WriteTimeout/2), s.check)
	s.tmu.Unlock()

	mode := s.readLoop(ctx)
	cancel()
	s.tmu.Lock()
	s.ended = true
	s.timer.Stop()
	s.tmu.Unlock()
	s.conn.CloseNow() // ends a ping waiting for its pong, and the writer
	s.pings.Wait()
	wg.Wait()
	for len(s.out) > 0 {
		m := <-s.out
		s.unqueued(int64(len(m.Data)))
		m.Release()
	}
	s.p.detached(s, mode)
}

// readLoop reads and handles frames until the socket ends, and says what
// that means for the peer.
//
// It reads with a context that is never cancelled: coder/websocket would
// otherwise register a context.AfterFunc for every message. Whatever ends
// the session closes the socket instead, which ends the read.
func (s *session) readLoop(ctx context.Context) endMode {
	rctx := context.WithoutCancel(ctx)
	for {
		typ, r, err := s.conn.Reader(rctx)
		var charged int64
		dropped := false
		if err == nil {
			charged, dropped, err = s.read(r)
		}
		if err != nil {
			s.srv.large.release(charged)
			select {
			case <-s.closing:
				return s.mode
			default:
			}
			switch websocket.CloseStatus(err) {
			case websocket.StatusNormalClosure, websocket.StatusGoingAway:
				return endGone
			}
			if s.buf.Len() >= protocol.MaxFrameSize {
				// coder/websocket stops a message exactly at the read
				// limit and closes with 1009 itself; its error carries
				// no status to tell this case by.
				s.srv.cfg.Metrics.Closed.WithLabelValues("message-too-big").Inc()
			}
			if !errors.Is(err, context.Canceled) {
				s.srv.log.Debug("signaling socket ended", "peer", s.p.id, "err", err)
			}
			return endDetach
		}
		now := s.srv.cfg.Now()
		s.seen(now)
		if dropped {
			s.fail(protocol.Errorf(protocol.ErrSignalingLimited, "the server is busy with large messages; a message over %d bytes was dropped, send it again later", LargeFrame), nil)
		} else {
			s.handle(ctx, s.buf.Bytes(), typ == websocket.MessageBinary, now)
		}
		if s.buf.Cap() > maxKeptBuffer {
			s.buf = bytes.Buffer{}
		}
		s.srv.large.release(charged)
	}
}

// read reads one message into buf. Past LargeFrame it takes the rest of the
// largest frame from the server's budget, and returns how much, for the
// caller to give back once the message is handled; with no budget left it
// discards the rest and reports the message dropped.
func (s *session) read(r io.Reader) (charged int64, dropped bool, err error) {
	s.buf.Reset()
	s.head = io.LimitedReader{R: r, N: LargeFrame}
	if _, err = s.buf.ReadFrom(&s.head); err != nil || s.head.N > 0 {
		return 0, false, err
	}
	// A frame of LargeFrame bytes or more. The buffer is grown once to
	// the largest frame, so that it is exactly what was charged.
	charged = int64(protocol.MaxFrameSize)
	if !s.srv.large.acquire(charged) {
		_, err = io.Copy(io.Discard, r)
		return 0, true, err
	}
	s.buf.Grow(protocol.MaxFrameSize - s.buf.Len())
	_, err = s.buf.ReadFrom(r)
	return charged, false, err
}

// writeLoop writes queued messages until the session closes.
func (s *session) writeLoop(ctx context.Context) {
	wctx := context.WithoutCancel(ctx) // see write
	for {
		select {
		case m := <-s.out:
			if err := s.write(wctx, m); err != nil {
				s.conn.CloseNow()
				return
			}
		case <-s.closing:
			for len(s.out) > 0 {
				if s.write(wctx, <-s.out) != nil {
					s.conn.CloseNow()
					return
				}
			}
			if s.last != nil && s.write(wctx, s.last) != nil {
				s.conn.CloseNow()
				return
			}
			s.conn.Close(s.code, s.reason)
			return
		case <-ctx.Done():
			return
		}
	}
}

// write writes one message. Like reads, writes take a context that is never
// cancelled (ctx comes from context.WithoutCancel), so that coder/websocket
// allocates nothing per message; check bounds a write that hangs, by a
// deadline that grows with the message (see Config.MinWriteRate), so that a
// 20 MiB message reaches a client on an ordinary line.
func (s *session) write(ctx context.Context, m *routing.Message) error {
	defer m.Release()
	defer s.unqueued(int64(len(m.Data)))
	typ := websocket.MessageText
	if m.Binary {
		typ = websocket.MessageBinary
	}
	s.writeDeadline.Store(s.srv.cfg.Now().UnixNano() + int64(s.srv.cfg.writeTimeout(len(m.Data))))
	err := s.conn.Write(ctx, typ, m.Data)
	s.writeDeadline.Store(0)
	return err
}

// check runs on the server's timer wheel: it closes a socket silent past
// IdleTimeout or with a write past its deadline, starts the pings, and
// schedules itself again for the earliest of its deadlines. It never blocks.
//
// The idle check is separate from the ping's wait for a pong, so that a
// half-open socket is closed IdleTimeout after its last frame or pong, give
// or take a tick of the wheel, whatever its pings do.
func (s *session) check() {
	s.tmu.Lock()
	defer s.tmu.Unlock()
	if s.ended {
		return
	}
	cfg := &s.srv.cfg
	now := cfg.Now().UnixNano()
	wd := s.writeDeadline.Load()
	if wd != 0 && now > wd {
		cfg.Metrics.Closed.WithLabelValues("write-timeout").Inc()
		// The writer is stuck: no close frame can get through. CloseNow
		// may wait for the library's goroutines, so not on the wheel.
		s.pings.Go(func() { s.conn.CloseNow() })
		return
	}
	idleAt := s.lastSeen.Load() + int64(cfg.IdleTimeout)
	next := now + int64(cfg.WriteTimeout)/2 // a write may start at any time
	if now >= idleAt {
		// The close frame waits behind what is queued; the checks go on
		// for the writes' deadlines.
		s.close(protocol.CloseIdle, "no message or pong for too long", endDetach, nil)
	} else {
		if now >= s.nextPing {
			s.ping()
			s.nextPing = now + int64(cfg.PingInterval)
		}
		next = min(next, idleAt, s.nextPing)
	}
	if wd != 0 {
		next = min(next, wd+1)
	}
	s.timer.Reset(time.Duration(next - now))
}

// ping sends a ping on a goroutine of its own, which ends with the pong or
// after PingInterval; the pong itself is seen by the reader (OnPongReceived).
// It is called with tmu held and the session not ended, so that run's wait
// for the pings cannot miss one.
func (s *session) ping() {
	if !s.pinging.CompareAndSwap(false, true) {
		return // the last one has had no answer yet
	}
	s.pings.Go(func() {
		defer s.pinging.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), s.srv.cfg.PingInterval)
		defer cancel()
		_ = s.conn.Ping(ctx)
	})
}

// seen records a frame or pong from the client.
func (s *session) seen(now time.Time) { s.lastSeen.Store(now.UnixNano()) }

// enqueue queues m for writing, taking over its reference. A client too slow
// to drain its queue is closed; but a large frame (over LargeFrame) that
// does not fit, in the queue or in the server's budget, is dropped for this
// client alone with an ERROR, since one big room message is no sign of a
// dead reader. It never blocks: it runs under the peer's lock and, through
// the Router, under others'.
func (s *session) enqueue(m *routing.Message) {
	n := int64(len(m.Data))
	large := n > LargeFrame
	if large && !s.srv.large.acquire(n) {
		s.dropLarge(m, "the server is busy with large messages")
		return
	}
	if s.queued.Add(n) > int64(s.srv.cfg.QueueBytes) {
		s.unqueued(n)
		if large {
			s.dropLarge(m, "too much is waiting to be written to this client")
			return
		}
		m.Release()
		s.close(protocol.CloseSlowConsumer, "reading too slowly", endDetach, nil)
		return
	}
	select {
	case s.out <- m:
	default:
		s.unqueued(n)
		m.Release()
		s.close(protocol.CloseSlowConsumer, "reading too slowly", endDetach, nil)
	}
}

// unqueued accounts for n bytes that left the queue, or never entered it.
func (s *session) unqueued(n int64) {
	s.queued.Add(-n)
	if n > LargeFrame {
		s.srv.large.release(n)
	}
}

// dropLarge releases a large message this client will not get, and tells it.
// It runs under the peer's lock, so it enqueues the ERROR itself.
func (s *session) dropLarge(m *routing.Message, why string) {
	n := len(m.Data)
	m.Release()
	s.srv.cfg.Metrics.Errors.WithLabelValues(string(protocol.ErrSignalingLimited)).Inc()
	perr := protocol.Errorf(protocol.ErrSignalingLimited, "%s: a message of %d bytes to this client was dropped", why, n)
	if e := s.p.composed(protocol.Error, protocol.ErrorPayload{Type: perr.Type, Message: perr.Message}); e != nil {
		s.enqueue(e)
	}
}

// close ends the session: the writer writes what is queued, then last, then
// the close frame. The first call wins. It never blocks.
func (s *session) close(code websocket.StatusCode, reason string, mode endMode, last *routing.Message) {
	first := false
	s.closeOnce.Do(func() {
		first = true
		s.code, s.reason, s.mode, s.last = code, reason, mode, last
		close(s.closing)
	})
	if !first && last != nil {
		last.Release()
		return
	}
	if first {
		s.srv.cfg.Metrics.Closed.WithLabelValues(closeCodeFor(code)).Inc()
	}
}

// closeWithError sends ERROR perr, then closes.
func (s *session) closeWithError(code websocket.StatusCode, perr *protocol.ProtocolError, mode endMode) {
	s.srv.cfg.Metrics.Errors.WithLabelValues(string(perr.Type)).Inc()
	s.close(code, string(perr.Type), mode, s.p.composed(protocol.Error, protocol.ErrorPayload{Type: perr.Type, Message: perr.Message}))
}
