package signaling

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

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

	lastSeen   atomic.Int64 // Unix nanoseconds of the last frame or pong
	writeStart atomic.Int64 // Unix nanoseconds when the current write began; 0 between writes

	// The reader's own state.
	bucket  bucket
	limited int
	msg     protocol.ClientMessage
	buf     bytes.Buffer
}

// maxKeptBuffer is the largest read buffer kept between messages.
const maxKeptBuffer = 1 << 20

func newSession(srv *Server, p *peer, conn *websocket.Conn) *session {
	now := srv.cfg.Now()
	s := &session{
		srv: srv, p: p, conn: conn,
		out:     make(chan *routing.Message, srv.cfg.QueueLength),
		closing: make(chan struct{}),
		bucket:  newBucket(srv.cfg.MessageRate, srv.cfg.MessageBurst, now),
	}
	s.lastSeen.Store(now.UnixNano())
	return s
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
	wg.Go(func() { s.pingLoop(ctx) })

	mode := s.readLoop(ctx)
	cancel()
	s.conn.CloseNow()
	wg.Wait()
	for len(s.out) > 0 {
		(<-s.out).Release()
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
		if err == nil {
			s.buf.Reset()
			_, err = s.buf.ReadFrom(r)
		}
		if err != nil {
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
		s.lastSeen.Store(now.UnixNano())
		s.handle(ctx, s.buf.Bytes(), typ == websocket.MessageBinary, now)
		if s.buf.Cap() > maxKeptBuffer {
			s.buf = bytes.Buffer{}
		}
	}
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
// allocates nothing per message; pingLoop bounds a write that hangs.
func (s *session) write(ctx context.Context, m *routing.Message) error {
	defer m.Release()
	s.queued.Add(-int64(len(m.Data)))
	typ := websocket.MessageText
	if m.Binary {
		typ = websocket.MessageBinary
	}
	s.writeStart.Store(s.srv.cfg.Now().UnixNano())
	err := s.conn.Write(ctx, typ, m.Data)
	s.writeStart.Store(0)
	return err
}

// pingLoop pings the client every PingInterval, and between pings checks
// that the client is not silent past IdleTimeout and that no write has hung
// past WriteTimeout (the client stopped reading).
func (s *session) pingLoop(ctx context.Context) {
	cfg := &s.srv.cfg
	ping := time.NewTicker(cfg.PingInterval)
	defer ping.Stop()
	check := time.NewTicker(min(cfg.PingInterval, cfg.IdleTimeout, cfg.WriteTimeout) / 2)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, cfg.PingInterval)
			if s.conn.Ping(pctx) == nil {
				s.lastSeen.Store(cfg.Now().UnixNano())
			}
			cancel()
		case <-check.C:
			now := cfg.Now()
			if ws := s.writeStart.Load(); ws != 0 && now.Sub(time.Unix(0, ws)) > cfg.WriteTimeout {
				cfg.Metrics.Closed.WithLabelValues("write-timeout").Inc()
				s.conn.CloseNow() // the writer is stuck: no close frame can get through
				return
			}
			if now.Sub(time.Unix(0, s.lastSeen.Load())) > cfg.IdleTimeout {
				s.close(protocol.CloseIdle, "no message or pong for too long", endDetach, nil)
				return
			}
		}
	}
}

// enqueue queues m for writing, taking over its reference. A client too slow
// to drain its queue is closed. It never blocks: it runs under the peer's
// lock and, through the Router, under others'.
func (s *session) enqueue(m *routing.Message) {
	n := int64(len(m.Data))
	if s.queued.Add(n) > int64(s.srv.cfg.QueueBytes) {
		s.queued.Add(-n)
		m.Release()
		s.close(protocol.CloseSlowConsumer, "reading too slowly", endDetach, nil)
		return
	}
	select {
	case s.out <- m:
	default:
		s.queued.Add(-n)
		m.Release()
		s.close(protocol.CloseSlowConsumer, "reading too slowly", endDetach, nil)
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
