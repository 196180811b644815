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

	"github.com/skywasm/skywasm/internal/poller"
	"github.com/skywasm/skywasm/internal/queue"
	"github.com/skywasm/skywasm/internal/wheel"
	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/routing"
)

// session is one signaling socket of a peer.
//
// Its reader is a goroutine only while frames come: at a frame boundary
// with nothing received, the goroutine parks the socket (see park) with
// the server's poller and ends, and the poller starts one again when the
// socket is readable. What it is sent waits in out, which a goroutine of
// its own drains only while it has work, and its pings, idle checks and
// write deadlines run on the server's timer wheel. Buffers are borrowed
// from pools for the time a message is in hand (see socket.go and
// readBuffers), so that an idle socket holds little more than its structs.
type session struct {
	srv  *Server
	p    *peer
	conn *websocket.Conn
	sock *socket // nil until accepted, and in benchmarks without a socket

	// The reader's life, as the state machine below. Only the goroutine
	// that owns the reader (running, parking or woken) reads frames, parks,
	// or ends the session, so that frames are handled in order and the end
	// (finish) runs once.
	state    atomic.Int32
	watch    *poller.Conn // registered at the first park; closed by finish
	noPark   bool         // parking failed: the reader blocks as on TLS
	inReader atomic.Bool  // the reader is in conn.Reader, between messages
	// pmu orders mayPark before close: see mayPark.
	pmu      sync.Mutex
	wakeFn   func() // s.wake, bound once
	resumeFn func() // s.resume, bound once
	release  func() // ServeHTTP's caller's, called by finish

	out    *queue.Queue[*routing.Message] // drained by write; bounded by enqueue
	queued atomic.Int64                   // bytes in out

	closeOnce sync.Once
	closed    atomic.Bool // set by close once the fields below are
	code      websocket.StatusCode
	reason    string
	mode      endMode
	last      *routing.Message // written just before the close frame
	// done is set by write (one drain at a time) once the close frame is
	// written or the socket failed: what comes after is dropped.
	done bool

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
	buf         *bytes.Buffer    // borrowed from readBuffers while a frame is read and handled
	head        io.LimitedReader // the first maxPooledBuffer bytes of a message
	mid         []byte           // a mid buffer lent by the budget for a frame over maxPooledBuffer
	big         []byte           // a frame buffer lent by the budget for a large frame, until a message takes it
	frame       []byte           // the frame read: in buf, mid or big
}

// closeMarker, queued by close, tells write to send the close frame. It is
// never released.
var closeMarker = new(routing.Message)

// maxPooledBuffer is the largest read buffer given back to readBuffers; a
// larger one (room data up to 20 MiB) is left to the collector.
const maxPooledBuffer = 64 << 10

// readBuffers and clientMessages lend a reader what it needs for one frame:
// an idle socket holds neither. (What a frame over maxPooledBuffer needs
// more, the budget lends.)
var (
	readBuffers    = sync.Pool{New: func() any { return new(bytes.Buffer) }}
	clientMessages = sync.Pool{New: func() any { return new(protocol.ClientMessage) }}
)

// newSession returns a session; init completes it once its socket and peer
// are known. It exists before the socket is accepted so that the socket's
// pong callback has a session to tell.
func newSession(srv *Server) *session {
	s := &session{srv: srv}
	s.wakeFn, s.resumeFn = s.wake, s.resume
	s.seen(srv.cfg.Now())
	return s
}

func (s *session) init(p *peer, conn *websocket.Conn) {
	now := s.srv.cfg.Now()
	s.p, s.conn = p, conn
	// Held until run has attached the peer: OPEN goes first.
	s.out = queue.New(s.write, queue.Config[*routing.Message]{Dropped: s.dropped})
	s.out.Hold()
	s.rate, s.burst = s.srv.cfg.MessageRate, s.srv.cfg.MessageBurst
	if l := p.app.Limits; l.MessageRate > 0 {
		s.rate, s.burst = l.MessageRate, max(l.MessageBurst, l.MessageRate)
	}
	s.bucket = newBucket(s.rate, s.burst, now)
	s.logs = everyBucket(s.srv.cfg.RoomLogsInterval, s.srv.cfg.RoomLogsBurst, now)
	s.seen(now)
	s.nextPing = now.UnixNano() + int64(s.srv.cfg.PingInterval)
}

// The reader's states. The goroutine that owns the reader moves it
// between running, parking and back, or to parked and ends; a waker (the
// poller, or the socket closing) moves parked to running and starts a
// goroutine, or parking to woken, which the owner sees as it finishes
// arming and reads on. Nothing else moves it, so that there is one reader
// at most, and a wake is never lost: the owner arms the poller only once it
// has said parking, and ends only if no wake came meanwhile.
//
//	running --(nothing received at a frame boundary)--> parking
//	parking --(armed, no wake meanwhile)--> parked: no goroutine
//	parking --(a wake meanwhile)--> woken --(the owner)--> running
//	parked --(readable, or the socket closed)--> running: a new goroutine
//	running --(the socket ended)--> ended: finish ran
const (
	stateRunning int32 = iota
	stateParking
	stateWoken
	stateParked
	stateEnded
)

// run serves the socket: it attaches the peer and reads until the socket
// parks or ends.
func (s *session) run(ctx context.Context) {
	// OPEN goes first, before anything kept for a reclaimed peer.
	if open := s.p.composed(protocol.Open, protocol.OpenPayload{PeerID: s.p.id, TURNCredential: s.p.turnCredential()}); open != nil {
		s.enqueue(open)
	}
	if !s.p.attach(s) {
		s.out.Close()
		s.conn.Close(websocket.StatusGoingAway, "peer ended")
		s.state.Store(stateEnded)
		s.served()
		return
	}
	s.out.Release()
	s.tmu.Lock()
	s.timer = s.srv.wheel.AfterFunc(min(s.srv.cfg.PingInterval, s.srv.cfg.IdleTimeout, s.srv.cfg.WriteTimeout/2), s.check)
	s.tmu.Unlock()
	s.loop(ctx)
}

// resume is the goroutine a wake starts. Its context, like run's, is one
// that nothing cancels: whatever ends the session closes the socket.
func (s *session) resume() { s.loop(context.Background()) }

// loop reads until the socket parks or ends; at the end, it finishes.
func (s *session) loop(ctx context.Context) {
	for {
		mode, parked := s.readLoop(ctx)
		if !parked {
			s.finish(mode)
			return
		}
		if s.park() {
			return
		}
	}
}

// park gives the reader up to the server's poller, and reports whether it
// did; if not (woken while arming, or the poller refused), the caller reads
// on.
func (s *session) park() bool {
	if s.closed.Load() {
		return false // the reader waits for the close handshake's end
	}
	if s.watch == nil {
		w, err := s.srv.poller.Register(s.sock.raw, s.wakeFn)
		if err != nil {
			s.srv.log.Debug("signaling socket cannot park", "peer", s.p.id, "err", err)
			s.noPark = true
			return false
		}
		s.watch = w
	}
	s.state.Store(stateParking)
	if err := s.watch.Arm(); err != nil {
		// The socket was closed: the next read says so.
		s.noPark = true
		s.state.Store(stateRunning)
		return false
	}
	if s.state.CompareAndSwap(stateParking, stateParked) {
		return true
	}
	s.state.Store(stateRunning) // woken while arming
	return false
}

// wake is called by the poller when a parked socket is readable, and by
// the socket as it closes. It never blocks.
func (s *session) wake() {
	for {
		switch s.state.Load() {
		case stateParked:
			if s.state.CompareAndSwap(stateParked, stateRunning) {
				go s.resumeFn()
				return
			}
		case stateParking:
			if s.state.CompareAndSwap(stateParking, stateWoken) {
				return
			}
		default:
			// Running: the reader reads before it parks again. Woken: it
			// knows. Ended: nothing to wake.
			return
		}
	}
}

// finish ends a session whose socket has ended, once, on the goroutine
// that owns the reader, and tells the peer how it ended.
func (s *session) finish(mode endMode) {
	s.state.Store(stateEnded)
	s.tmu.Lock()
	s.ended = true
	s.timer.Stop()
	s.tmu.Unlock()
	s.conn.CloseNow() // ends a ping waiting for its pong, and a write
	if s.watch != nil {
		s.watch.Close()
	}
	s.pings.Wait()
	s.out.Close() // what is left goes to dropped
	<-s.out.Done()
	s.p.detached(s, mode)
	s.served()
}

// served ends what ServeHTTP began for the socket.
func (s *session) served() {
	s.srv.untrack(s)
	if s.release != nil {
		s.release()
	}
	s.srv.wg.Done()
}

// readLoop reads and handles frames until the socket ends, and says what
// that means for the peer, or until it has nothing to read at a frame
// boundary and may park (parked).
//
// It reads with a context that is never cancelled: coder/websocket would
// otherwise register a context.AfterFunc for every message. Whatever ends
// the session closes the socket instead, which ends the read.
func (s *session) readLoop(ctx context.Context) (mode endMode, parked bool) {
	rctx := ctx
	if ctx.Done() != nil {
		rctx = context.WithoutCancel(ctx)
	}
	for {
		if s.mayPark(false) {
			// Nothing has come: park without asking coder/websocket,
			// whose error for it would cost five allocations.
			return 0, true
		}
		s.inReader.Store(true)
		typ, r, err := s.conn.Reader(rctx)
		s.inReader.Store(false)
		s.sock.parkable.Store(false)
		if errors.Is(err, errParked) {
			return 0, true // after a ping or pong: see pong
		}
		dropped := 0
		if err == nil {
			// A buffer only once a frame has come.
			s.buf = readBuffers.Get().(*bytes.Buffer)
			dropped, err = s.read(r)
		}
		if err != nil {
			tooBig := max(len(s.frame), dropped) >= protocol.MaxFrameSize
			s.putBuffer()
			if s.closed.Load() {
				return s.mode, false
			}
			switch websocket.CloseStatus(err) {
			case websocket.StatusNormalClosure, websocket.StatusGoingAway:
				return endGone, false
			}
			if tooBig {
				// coder/websocket stops a message exactly at the read
				// limit and closes with 1009 itself; its error carries
				// no status to tell this case by.
				s.srv.cfg.Metrics.Closed.WithLabelValues("message-too-big").Inc()
			}
			if !errors.Is(err, context.Canceled) {
				s.srv.log.Debug("signaling socket ended", "peer", s.p.id, "err", err)
			}
			return endDetach, false
		}
		now := s.srv.cfg.Now()
		s.seen(now)
		if dropped > 0 {
			s.fail(protocol.Errorf(protocol.ErrSignalingLimited, "the server is busy with large messages; a message of %d bytes was dropped, send it again later", dropped), nil)
		} else {
			s.handle(ctx, s.frame, typ == websocket.MessageBinary, now)
		}
		s.putBuffer()
	}
}

// linger is how long a socket that had a frame or pong within it waits
// for the next frame with its goroutine before it parks. Parking and
// waking again cost more CPU than relaying a small message (an epoll_ctl
// and an epoll_wait, a goroutine and the growth of its stack: 38 → 55 µs of
// server CPU an offer at 80 offers a second a peer), and a socket in a
// call's negotiation has its next frame within milliseconds; an idle one
// parks 100 ms after its last.
const linger = 100 * time.Millisecond

// mayPark reports whether the reader may park now: it is between messages
// and nothing has come, neither in coder/websocket's bufio.Reader nor in
// the socket, which it asks without waiting. A socket that has been busy
// within linger does not park at once: mayPark lets its next read wait up
// to linger and then return errParked, and reports false. So it does in
// the library's control frame callbacks (inLibrary), where the library is
// about to read the next frame header itself, without the wait.
//
// It runs on the reader, but the bufio.Reader and the socket have one more
// reader: coder/websocket's Close, which reads for the close handshake
// after write has sent the close frame. close holds pmu as it sets closed,
// and clears parkable, before it queues that frame: so mayPark looks at
// the buffers before the handshake reads them, or not at all, and the
// handshake never reads errParked.
func (s *session) mayPark(inLibrary bool) bool {
	if !poller.Supported || s.sock == nil || s.sock.raw == nil {
		return false
	}
	s.pmu.Lock()
	defer s.pmu.Unlock()
	if s.closed.Load() || s.noPark || s.sock.br.Buffered() > 0 || s.sock.pend != nil || s.sock.err != nil {
		return false
	}
	busy := s.srv.cfg.Now().UnixNano()-s.lastSeen.Load() < int64(linger)
	if inLibrary || busy {
		s.sock.linger = 0
		if !inLibrary {
			s.sock.linger = linger
		}
		s.sock.parkable.Store(true)
		return false
	}
	return s.sock.idle()
}

// read reads one message into frame: into buf up to maxPooledBuffer
// bytes, a mid buffer up to LargeFrame, and past that a frame buffer, kept
// until the message is handled (or passed on in a routing.Message, see
// roomDataMessage). The server's budget lends both (see budget); when it
// cannot, read discards the rest and reports the size of the message
// dropped.
func (s *session) read(r io.Reader) (dropped int, err error) {
	s.buf.Reset()
	s.head = io.LimitedReader{R: r, N: maxPooledBuffer}
	_, err = s.buf.ReadFrom(&s.head)
	s.frame = s.buf.Bytes()
	if err != nil || s.head.N > 0 {
		return 0, err
	}
	mid, ok := s.srv.large.get(midBufferSize)
	if !ok {
		return s.discard(r)
	}
	s.mid = mid
	n := copy(mid, s.frame)
	m, full, err := fill(r, mid[n:])
	s.frame = mid[:n+m]
	if err != nil || !full {
		return 0, err
	}
	// LargeFrame bytes or more: a frame buffer, then the mid buffer back
	// once its bytes are copied, so that the budget counts both meanwhile.
	big, ok := s.srv.large.get(frameBufferSize)
	if !ok {
		return s.discard(r)
	}
	s.big = big
	h := protocol.RoomDataHeadroom
	n = copy(big[h:], s.frame)
	s.putMid()
	m, full, err = fill(r, big[h+n:])
	s.frame = big[h : h+n+m]
	if err == nil && full {
		// As large as a frame may be: anything more is over the read
		// limit, for the reader to refuse.
		var more [1]byte
		if _, err = io.ReadFull(r, more[:]); err == io.EOF {
			err = nil
		} else if err == nil {
			// The reader closes with 1009 once past its limit.
			if _, err = io.Copy(io.Discard, r); err == nil {
				err = errors.New("signaling: a frame over the read limit")
			}
		}
	}
	return 0, err
}

// discard gives back the buffers of a message the budget cannot hold,
// reads the rest of it, and says its size.
func (s *session) discard(r io.Reader) (size int, err error) {
	size = len(s.frame)
	s.frame = nil
	s.putMid()
	n, err := io.Copy(io.Discard, r)
	return size + int(n), err
}

// fill reads r into b until b is full or the message ends; full says
// which.
func fill(r io.Reader, b []byte) (n int, full bool, err error) {
	n, err = io.ReadFull(r, b)
	switch err {
	case nil:
		return n, true, nil
	case io.EOF, io.ErrUnexpectedEOF:
		return n, false, nil
	}
	return n, false, err
}

// putBuffer gives back the buffers of the frame read, unless it grew past
// maxPooledBuffer, and the frame buffer unless a message has taken it.
func (s *session) putBuffer() {
	s.frame = nil
	s.putMid()
	if s.big != nil {
		s.srv.large.put(s.big)
		s.big = nil
	}
	if s.buf == nil {
		return
	}
	if s.buf.Cap() <= maxPooledBuffer {
		s.buf.Reset()
		readBuffers.Put(s.buf)
	}
	s.buf = nil
}

func (s *session) putMid() {
	if s.mid != nil {
		s.srv.large.put(s.mid)
		s.mid = nil
	}
}

// write writes one message; out calls it, one message at a time, in order,
// on a goroutine that exists only while out has work.
//
// Like reads, writes take a context that is never cancelled, so that
// coder/websocket allocates nothing per message; check bounds a write that
// hangs, by a deadline that grows with the message (see
// Config.MinWriteRate), so that a 20 MiB message reaches a client on an
// ordinary line.
func (s *session) write(m *routing.Message) {
	if m == closeMarker {
		if s.done {
			return
		}
		s.done = true
		if s.last != nil && s.send(s.last) != nil {
			s.conn.CloseNow()
			return
		}
		s.conn.Close(s.code, s.reason)
		return
	}
	if s.done {
		s.dropped(m)
		return
	}
	if s.send(m) != nil {
		s.done = true
		s.conn.CloseNow()
	}
}

// send writes m to the socket and releases it.
func (s *session) send(m *routing.Message) error {
	defer m.Release()
	defer s.unqueued(int64(len(m.Data)))
	typ := websocket.MessageText
	if m.Binary {
		typ = websocket.MessageBinary
	}
	s.writeDeadline.Store(s.srv.cfg.Now().UnixNano() + int64(s.srv.cfg.writeTimeout(len(m.Data))))
	err := s.conn.Write(context.Background(), typ, m.Data)
	s.writeDeadline.Store(0)
	return err
}

// dropped releases a message that will not be written.
func (s *session) dropped(m *routing.Message) {
	if m == closeMarker {
		return
	}
	s.unqueued(int64(len(m.Data)))
	m.Release()
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
	if large && !s.srv.large.count(m) {
		s.dropLarge(m, "the server is busy with large messages")
		return
	}
	if s.queued.Add(n) > int64(s.srv.cfg.QueueBytes) || s.out.Len() >= s.srv.cfg.QueueLength {
		s.unqueued(n)
		if large {
			s.dropLarge(m, "too much is waiting to be written to this client")
			return
		}
		m.Release()
		s.close(protocol.CloseSlowConsumer, "reading too slowly", endDetach, nil)
		return
	}
	if !s.out.Push(m) { // closed: the socket has ended
		s.dropped(m)
	}
}

// unqueued accounts for n bytes that left the queue, or never entered it.
// (A large message's share of the budget goes back with its last Release.)
func (s *session) unqueued(n int64) { s.queued.Add(-n) }

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

// close ends the session: write writes what is queued, then last, then
// the close frame. The first call wins. It never blocks.
func (s *session) close(code websocket.StatusCode, reason string, mode endMode, last *routing.Message) {
	first := false
	s.closeOnce.Do(func() {
		first = true
		s.code, s.reason, s.mode, s.last = code, reason, mode, last
		s.pmu.Lock()
		s.closed.Store(true)
		if s.sock != nil {
			s.sock.parkable.Store(false) // see mayPark
		}
		s.pmu.Unlock()
		s.out.Push(closeMarker)
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

// pong is the socket's OnPongReceived. Between messages, the reader may
// park again after it, rather than wait for the next frame.
func (s *session) pong(context.Context, []byte) {
	s.seen(s.srv.cfg.Now())
	if s.inReader.Load() {
		s.mayPark(true)
	}
}

// pinged is the socket's OnPingReceived: coder/websocket answers; the
// reader may park again after it, as after a pong.
func (s *session) pinged(context.Context, []byte) bool {
	if s.inReader.Load() {
		s.mayPark(true)
	}
	return true
}
