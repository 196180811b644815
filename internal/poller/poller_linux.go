//go:build linux

package poller

import (
	"fmt"
	"os"
	"sync"
	"syscall"
)

// Supported says whether Register can work on this platform.
const Supported = true

// The events a Conn is armed for: readable, hung up (the peer shut its
// side), and, always reported, errors and hang-ups of both sides. One-shot,
// so that a wake is not repeated while its goroutine reads, and
// level-triggered, so that arming a readable connection wakes it at once.
const armed = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT

// Poller watches registered connections with one epoll instance, whose
// readiness the Go runtime's own poller watches in turn: its goroutine is
// parked like any reader of a socket while nothing happens, and holds no
// thread.
type Poller struct {
	mu    sync.Mutex
	slots []slot
	free  []uint32
	count int      // registered Conns
	ep    *os.File // the epoll instance, while count > 0
	epfd  int      // its descriptor
	// instance counts the epoll instances made: a goroutine whose instance
	// was closed may still hold events of its last wait, for slots that
	// have been reused since.
	instance uint64
}

// slot is a registered Conn's place. An event names its slot by index and
// generation, never by file descriptor: a descriptor closed and reused is
// another connection, and a slot freed and reused has a new generation, so
// that an event that was in flight as its Conn was closed wakes no one.
type slot struct {
	gen  uint32
	wake func() // nil while free
}

// New returns a Poller; it holds nothing until the first Register.
func New() *Poller { return &Poller{epfd: -1} }

// Conn is one registered connection. Its methods are called by its owner,
// one at a time.
type Conn struct {
	p        *Poller
	raw      syscall.RawConn
	epfd     int
	instance uint64
	idx, gen uint32
	added    bool

	// control's arguments and result, so that Arm allocates nothing.
	op  int
	ev  syscall.EpollEvent
	err error
	ctl func(fd uintptr) // c.control, bound once
}

// Register adds a connection, given by its raw descriptor, for wake to be
// called when it is readable once armed. It is not armed yet.
func (p *Poller) Register(raw syscall.RawConn, wake func()) (*Conn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.count == 0 {
		if err := p.startLocked(); err != nil {
			return nil, err
		}
	}
	var idx uint32
	if n := len(p.free); n > 0 {
		idx = p.free[n-1]
		p.free = p.free[:n-1]
	} else {
		idx = uint32(len(p.slots))
		p.slots = append(p.slots, slot{})
	}
	p.slots[idx].wake = wake
	p.count++
	c := &Conn{p: p, raw: raw, epfd: p.epfd, instance: p.instance, idx: idx, gen: p.slots[idx].gen}
	c.ctl = c.control
	return c, nil
}

// startLocked makes the epoll instance and starts the goroutine that
// serves it.
func (p *Poller) startLocked() error {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("poller: epoll_create1: %w", err)
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return fmt.Errorf("poller: epoll descriptor: %w", err)
	}
	// Non-blocking, so that os.NewFile hands it to the runtime's poller.
	ep := os.NewFile(uintptr(fd), "epoll")
	raw, err := ep.SyscallConn()
	if err != nil {
		ep.Close()
		return fmt.Errorf("poller: epoll descriptor: %w", err)
	}
	p.ep, p.epfd = ep, fd
	p.instance++
	go p.serve(raw, p.instance)
	return nil
}

// serve waits for the epoll instance to have events and dispatches them,
// until the instance is closed (the last Conn closed).
func (p *Poller) serve(raw syscall.RawConn, instance uint64) {
	var events [128]syscall.EpollEvent
	drain := func(fd uintptr) bool {
		for {
			n, err := syscall.EpollWait(int(fd), events[:], 0)
			if err == syscall.EINTR {
				continue
			}
			if err != nil || n <= 0 {
				// Nothing (more) to do: wait for the instance to be
				// readable again. An error other than EINTR cannot come
				// from a valid instance with a valid buffer.
				return false
			}
			p.dispatch(instance, events[:n])
			if n < len(events) {
				// All there was. An event since then has woken the
				// runtime's poller (the instance wakes its pollers on
				// every event it queues), so waiting loses none, and
				// saves asking again for nothing.
				return false
			}
		}
	}
	// Read returns only once the instance is closed.
	_ = raw.Read(drain)
}

// dispatch wakes the owners of events.
func (p *Poller) dispatch(instance uint64, events []syscall.EpollEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if instance != p.instance || p.count == 0 {
		return
	}
	for i := range events {
		idx, gen := uint32(events[i].Fd), uint32(events[i].Pad)
		if int(idx) < len(p.slots) && p.slots[idx].gen == gen && p.slots[idx].wake != nil {
			p.slots[idx].wake()
		}
	}
}

// Arm asks for one wake once the connection is readable. It fails if the
// connection is closed.
func (c *Conn) Arm() error {
	c.op = syscall.EPOLL_CTL_MOD
	if !c.added {
		c.op = syscall.EPOLL_CTL_ADD
	}
	c.ev = syscall.EpollEvent{Events: armed, Fd: int32(c.idx), Pad: int32(c.gen)}
	c.err = nil
	// Control holds the descriptor open for the call: it cannot be closed
	// and reused for another connection under it.
	if err := c.raw.Control(c.ctl); err != nil {
		return fmt.Errorf("poller: arming: %w", err)
	}
	if c.err != nil {
		return fmt.Errorf("poller: arming: %w", c.err)
	}
	c.added = true
	return nil
}

func (c *Conn) control(fd uintptr) {
	// The epoll descriptor is open: this Conn is registered, so the
	// instance lives on at least until its Close, which its owner does not
	// call during Arm.
	c.err = syscall.EpollCtl(c.epfd, c.op, int(fd), &c.ev)
}

// Close removes the connection: once Close returns, its wake is not
// called. It does not close the connection.
func (c *Conn) Close() {
	if c.added {
		c.op, c.err = syscall.EPOLL_CTL_DEL, nil
		// Closed already (the usual case) or not, it is out of the
		// instance after this.
		_ = c.raw.Control(c.ctl)
		c.added = false
	}
	p := c.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.instance != p.instance || p.count == 0 {
		return // closed before
	}
	s := &p.slots[c.idx]
	if s.wake == nil || s.gen != c.gen {
		return // closed before
	}
	s.wake = nil
	s.gen++
	p.free = append(p.free, c.idx)
	p.count--
	if p.count == 0 {
		// The goroutine's Read fails once the instance is closed, and the
		// goroutine ends.
		p.ep.Close()
		p.ep, p.epfd = nil, -1
		// The slots go too: a server's peak number of connections should
		// not stay allocated once they have all gone.
		p.slots, p.free = nil, nil
	}
}
