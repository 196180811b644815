package signaling

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/skywasm/skywasm/bench"
)

// fleet is N connected peers of one server, and the goroutines that read
// their sockets. It is driven by one phase at a time (saturate, fixedRate).
type fleet struct {
	t     *target
	conns []*websocket.Conn
	ids   []string
	// nodes is how many servers the peers are spread over: peer i is on
	// node i % nodes. With more than one, every message goes to a peer on
	// another node.
	nodes int
	// base is the zero of every message's stamp; time.Since(base) uses
	// the monotonic clock, so latencies are immune to clock steps.
	base time.Time
	// ctx lives as long as the fleet. Reads and writes use it rather than
	// a phase's context because coder/websocket closes a connection whose
	// read or write is cancelled.
	ctx    context.Context
	cancel context.CancelFunc
	// readers counts the reading goroutines; close waits for them.
	readers sync.WaitGroup
	// phase receives what the readers get; nil between phases, when
	// relayed offers still arriving are dropped.
	phase atomic.Pointer[phase]
	// closing is set once close has begun, after which a socket's end is
	// expected.
	closing atomic.Bool

	// problem holds the first thing that went wrong outside the phase
	// driver's sight: an unexpected message or a socket that ended.
	mu      sync.Mutex
	problem error
}

// phase collects what the readers see while one measurement runs.
type phase struct {
	// received counts relayed offers.
	received atomic.Int64
	// credits, when set, hold each sender's window: a receiver returns a
	// credit to the message's sender.
	credits []chan struct{}
	// Latencies are kept for messages stamped within [from, to).
	from, to time.Duration
	mu       sync.Mutex
	lat      []float64 // milliseconds
	inWindow atomic.Int64
}

// dialTimeout bounds one connection, handshake and OPEN included.
const dialTimeout = 30 * time.Second

// connect opens n peers spread over the servers at addrs (peer i on
// addrs[i % len(addrs)]), at most concurrency handshakes at a time and at
// most perSource from one source address, and returns them with the time
// from the first dial to the last OPEN.
func connect(ctx context.Context, t *target, addrs []string, n, concurrency, perSource int) (*fleet, time.Duration, error) {
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f := &fleet{t: t, conns: make([]*websocket.Conn, n), ids: make([]string, n), nodes: len(addrs), ctx: fctx, cancel: cancel}
	for i := range f.ids {
		f.ids[i] = peerID(i)
	}
	// One transport for every handshake: no proxy (the servers are on
	// loopback whatever the environment says) and no pooling, since each
	// connection becomes a WebSocket and never returns to the pool.
	sources := uint64(min(254, max(1, (n+perSource-1)/max(1, perSource))))
	var dials atomic.Uint64
	dial := func(ctx context.Context, network, address string) (net.Conn, error) {
		d := net.Dialer{Timeout: dialTimeout}
		if sources > 1 { // round robin over 127.0.0.1 … 127.0.0.<sources>
			d.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+dials.Add(1)%sources))}
		}
		return d.DialContext(ctx, network, address)
	}
	client := &http.Client{Transport: &http.Transport{
		DialContext:        dial,
		DisableKeepAlives:  true,
		DisableCompression: true,
	}}
	opts := &websocket.DialOptions{HTTPClient: client}

	dctx, stopDialing := context.WithCancel(ctx)
	defer stopDialing()
	var (
		next    atomic.Int64
		errOnce sync.Once
		dialErr error
		workers sync.WaitGroup
	)
	fail := func(err error) {
		errOnce.Do(func() { dialErr = err; stopDialing() })
	}
	f.base = time.Now()
	start := time.Now()
	for range min(concurrency, n) {
		workers.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || dctx.Err() != nil {
					return
				}
				c, err := f.dial(dctx, opts, addrs[i%len(addrs)], i)
				if err != nil {
					fail(err)
					return
				}
				f.conns[i] = c
				f.readers.Go(func() { f.read(i, c) })
			}
		})
	}
	workers.Wait()
	elapsed := time.Since(start)
	client.CloseIdleConnections()
	if dialErr == nil && ctx.Err() != nil {
		dialErr = ctx.Err()
	}
	if dialErr != nil {
		f.close()
		return nil, 0, fmt.Errorf("failed to connect %d peers to %s: %w", n, t.name, dialErr)
	}
	if err := f.err(); err != nil {
		f.close()
		return nil, 0, err
	}
	return f, elapsed, nil
}

// dial opens peer i's socket and waits for the server's OPEN.
func (f *fleet) dial(ctx context.Context, opts *websocket.DialOptions, addr string, i int) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	c, _, err := websocket.Dial(ctx, f.t.dialURL(addr, f.ids[i]), opts)
	if err != nil {
		return nil, fmt.Errorf("failed to dial peer %d: %w", i, err)
	}
	// The read is cancelled by ctx only if OPEN never comes, and then the
	// connection is abandoned anyway.
	_, msg, err := c.Read(ctx)
	if err == nil {
		err = f.t.checkOpen(msg)
	}
	if err != nil {
		c.CloseNow()
		return nil, fmt.Errorf("failed to open peer %d: %w", i, err)
	}
	return c, nil
}

// read hands every message of peer i to the phase until the socket ends.
func (f *fleet) read(i int, c *websocket.Conn) {
	var buf bytes.Buffer
	for {
		_, r, err := c.Reader(f.ctx)
		if err == nil {
			buf.Reset()
			_, err = buf.ReadFrom(r)
		}
		if err != nil {
			if !f.closing.Load() {
				f.report(fmt.Errorf("%s ended peer %d's socket: %w", f.t.name, i, err))
			}
			return
		}
		f.receive(buf.Bytes(), time.Since(f.base))
	}
}

// receive accounts for one message that arrived at the given time.
func (f *fleet) receive(msg []byte, at time.Duration) {
	sender, stamp, ok := parseRelayed(msg)
	if !ok {
		// skywasm's ERROR signaling-limited would land here: the
		// benchmark must never meet a limit.
		f.report(fmt.Errorf("%s sent an unexpected message: %.300s", f.t.name, msg))
		return
	}
	p := f.phase.Load()
	if p == nil {
		return
	}
	p.received.Add(1)
	if p.credits != nil && sender < len(p.credits) {
		select {
		case <-p.credits[sender]:
		default:
		}
	}
	if p.to > 0 && stamp >= int64(p.from) && stamp < int64(p.to) {
		ms := float64(at-time.Duration(stamp)) / float64(time.Millisecond)
		p.mu.Lock()
		p.lat = append(p.lat, ms)
		p.mu.Unlock()
		p.inWindow.Add(1)
	}
}

// report keeps the first problem for err.
func (f *fleet) report(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.problem == nil {
		f.problem = err
	}
}

// err returns the first problem seen, if any.
func (f *fleet) err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.problem
}

// close ends every socket at once, without a closing handshake (which would
// take the servers' time after the measurements anyway), and waits for the
// readers.
func (f *fleet) close() {
	f.closing.Store(true)
	for _, c := range f.conns {
		if c != nil {
			c.CloseNow()
		}
	}
	f.cancel()
	f.readers.Wait()
}

// keepAlive sends every peer the client's heartbeat each interval until
// ctx ends. peerjs-server drops a peer silent for 60 s; skywasm counts its
// own pings' pongs, but a client should send PING all the same.
func (f *fleet) keepAlive(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for i, c := range f.conns {
			if ctx.Err() != nil {
				return
			}
			if err := c.Write(f.ctx, websocket.MessageText, f.t.heartbeat); err != nil && !f.closing.Load() {
				f.report(fmt.Errorf("failed to send peer %d's heartbeat: %w", i, err))
			}
		}
	}
}

// send writes one offer from peer src to peer dst stamped at stamp, built
// in buf, and returns buf for reuse.
func (f *fleet) send(buf []byte, src, dst int, stamp time.Duration) ([]byte, error) {
	var cid [48]byte
	buf = f.t.offer.append(buf[:0], f.ids[dst], appendConnectionID(cid[:0], src, int64(stamp)))
	if err := f.conns[src].Write(f.ctx, websocket.MessageText, buf); err != nil {
		return buf, fmt.Errorf("failed to send from peer %d: %w", src, err)
	}
	return buf, nil
}

// randomPeer picks a peer other than not.
func randomPeer(r *rand.Rand, n, not int) int {
	d := r.IntN(n - 1)
	if d >= not {
		d++
	}
	return d
}

// pick picks the receiver of a message from src: any other peer of a
// fleet on one server, a peer on another node of a cluster's.
func (f *fleet) pick(r *rand.Rand, src int) int {
	n := len(f.conns)
	if f.nodes <= 1 {
		return randomPeer(r, n, src)
	}
	for {
		if d := r.IntN(n); d%f.nodes != src%f.nodes {
			return d
		}
	}
}

// saturation is what saturate measured.
type saturation struct {
	// perSecond is relayed offers received a second.
	perSecond float64
	// cpu is the server's CPU time a second of the measurement (1 = one
	// core busy).
	cpu float64
	// cpuPerOffer is the server's CPU time per relayed offer, in µs:
	// unlike the rate, it holds when other work on the machine takes
	// cores from the server or the generator.
	cpuPerOffer float64
	// paced is true when the senders' pace, not the server, set the rate.
	paced bool
}

// saturate has every peer send offers to random peers, each keeping up to
// window unanswered (a receiver's arrival returns the credit) and sending
// at most perPeerRate a second, and counts what arrives during measure,
// after warm.
func (f *fleet) saturate(ctx context.Context, srv deployment, window int, perPeerRate float64, warm, measure time.Duration) (saturation, error) {
	n := len(f.conns)
	p := &phase{credits: make([]chan struct{}, n)}
	for i := range p.credits {
		p.credits[i] = make(chan struct{}, window)
	}
	f.phase.Store(p)
	defer f.phase.Store(nil)

	stop := make(chan struct{})
	var senders sync.WaitGroup
	var sendErr atomic.Pointer[error]
	interval := time.Duration(float64(time.Second) / perPeerRate)
	for i := range n {
		senders.Go(func() {
			r := rand.New(rand.NewPCG(uint64(i), 0x5167))
			buf := make([]byte, 0, f.t.offer.size(8, 48))
			// Start at a random point of the first interval so that the
			// peers do not send in lockstep.
			next := time.Now().Add(time.Duration(r.Int64N(int64(interval))))
			pause := time.NewTimer(0)
			defer pause.Stop()
			for {
				select {
				case <-stop:
					return
				case p.credits[i] <- struct{}{}:
				}
				if d := time.Until(next); d > 0 {
					pause.Reset(d)
					select {
					case <-stop:
						<-p.credits[i] // not sent: nothing will return it
						return
					case <-pause.C:
					}
				}
				// The pace is an average: a sender that fell behind may
				// catch up, by at most one burst's worth.
				next = next.Add(interval)
				if floor := time.Now().Add(-interval * paceBurst); next.Before(floor) {
					next = floor
				}
				var err error
				if buf, err = f.send(buf, i, f.pick(r, i), time.Since(f.base)); err != nil {
					sendErr.CompareAndSwap(nil, &err)
					return
				}
			}
		})
	}
	var res saturation
	err := func() error {
		if err := sleep(ctx, warm); err != nil {
			return err
		}
		c0, t0 := p.received.Load(), time.Now()
		cpu0, err := srv.cpu()
		if err != nil {
			return err
		}
		if err := sleep(ctx, measure); err != nil {
			return err
		}
		c1, t1 := p.received.Load(), time.Now()
		cpu1, err := srv.cpu()
		if err != nil {
			return err
		}
		secs := t1.Sub(t0).Seconds()
		res.perSecond = float64(c1-c0) / secs
		res.cpu = (cpu1 - cpu0).Seconds() / secs
		if c1 > c0 {
			res.cpuPerOffer = float64(cpu1-cpu0) / float64(time.Microsecond) / float64(c1-c0)
		}
		res.paced = res.perSecond > 0.9*perPeerRate*float64(n)
		return nil
	}()
	close(stop)
	senders.Wait()
	if err == nil {
		if e := sendErr.Load(); e != nil {
			err = *e
		}
	}
	if err == nil {
		err = f.drain(ctx, p)
	}
	if err == nil {
		err = f.settle(ctx, srv)
	}
	return res, err
}

// drainTimeout bounds the wait for the offers in flight when a saturation
// ends: at most window × peers of them, at the rate just measured.
const drainTimeout = 30 * time.Second

// drain waits until every offer sent at saturation has arrived, each
// returning its sender's credit: those still queued in the server would
// otherwise be ahead of the next phase's offers, and time them instead of
// the server.
func (f *fleet) drain(ctx context.Context, p *phase) error {
	deadline := time.Now().Add(drainTimeout)
	for {
		var inFlight int
		for _, c := range p.credits {
			inFlight += len(c)
		}
		if inFlight == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not deliver %d offers within %v of the end of saturation", f.t.name, inFlight, drainTimeout)
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
}

// paceBurst is how many intervals a paced sender may catch up at once. With
// skywasm's 100 messages a second and bursts of 200 per socket, a pace of 80
// a second with bursts of 20 stays clear of its limiter.
const paceBurst = 20

// latency is what fixedRate measured.
type latency struct {
	p50, p99 float64 // milliseconds
	samples  int
	// lateness is how far behind its schedule the generator sent an
	// offer, at worst: large values mean the generator itself was starved
	// of CPU and the latencies include its delay.
	lateness time.Duration
}

// fixedRate sends rate offers a second in all, each from a random peer to
// another, for warm and then measure, and returns the relay latency of the
// messages sent during measure: the time from when each was due to be sent
// (not when it was, so that a stalled send counts) to its arrival.
func (f *fleet) fixedRate(ctx context.Context, srv deployment, rate float64, warm, measure time.Duration) (latency, error) {
	n := len(f.conns)
	start := time.Since(f.base)
	p := &phase{from: start + warm, to: start + warm + measure}
	f.phase.Store(p)
	defer f.phase.Store(nil)

	r := rand.New(rand.NewPCG(uint64(n), 0x1a7e))
	interval := time.Duration(float64(time.Second) / rate)
	var (
		sends   sync.WaitGroup
		sendErr atomic.Pointer[error]
		sent    int64 // within the window
		late    atomic.Int64
		pool    = sync.Pool{New: func() any { b := make([]byte, 0, f.t.offer.size(8, 48)); return &b }}
	)
	err := func() error {
		for k := int64(0); ; k++ {
			due := start + time.Duration(k)*interval
			if due >= p.to {
				return nil
			}
			if d := due - time.Since(f.base); d > 0 {
				if err := sleep(ctx, d); err != nil {
					return err
				}
			}
			if e := sendErr.Load(); e != nil {
				return *e
			}
			if due >= p.from {
				sent++
			}
			src := r.IntN(n)
			dst := f.pick(r, src)
			// A goroutine per message keeps one slow socket from
			// delaying the schedule; writes to one socket are serialised
			// by coder/websocket.
			sends.Go(func() {
				if l := int64(time.Since(f.base) - due); l > late.Load() {
					late.Store(l) // a lost race loses a near-equal value
				}
				b := pool.Get().(*[]byte)
				var err error
				if *b, err = f.send(*b, src, dst, due); err != nil {
					sendErr.CompareAndSwap(nil, &err)
				}
				pool.Put(b)
			})
		}
	}()
	sends.Wait()
	if err == nil {
		if e := sendErr.Load(); e != nil {
			err = *e
		}
	}
	if err != nil {
		return latency{}, err
	}
	// Wait for the stragglers: a lost message would be an infinite
	// latency, so the run fails rather than leave it out.
	deadline := time.Now().Add(5 * time.Second)
	for p.inWindow.Load() < sent && time.Now().Before(deadline) {
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return latency{}, err
		}
	}
	if got := p.inWindow.Load(); got < sent {
		return latency{}, fmt.Errorf("%s delivered %d of %d offers within 5 s", f.t.name, got, sent)
	}
	p.mu.Lock()
	lat := p.lat
	p.mu.Unlock()
	res := latency{p50: bench.Percentile(lat, 50), p99: bench.Percentile(lat, 99), samples: len(lat), lateness: time.Duration(late.Load())}
	return res, f.settle(ctx, srv)
}

// settle lets messages still on their way arrive before the next phase,
// and reports anything that went wrong meanwhile.
func (f *fleet) settle(ctx context.Context, srv deployment) error {
	if err := sleep(ctx, 200*time.Millisecond); err != nil {
		return err
	}
	if err := srv.alive(); err != nil {
		return err
	}
	return f.err()
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("interrupted: %w", context.Cause(ctx))
	case <-t.C:
		return nil
	}
}
