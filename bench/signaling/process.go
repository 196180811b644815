package signaling

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// process is one running server under test, a child of the generator so
// that the generator can read its memory and CPU time by PID.
type process struct {
	name string
	cmd  *exec.Cmd
	// addr is the host:port it listens on.
	addr   string
	stderr *tail
	// exited is closed when the process has ended; waitErr is then set.
	exited  chan struct{}
	waitErr error
}

// readyTimeout bounds a server's start; both start in well under a second.
// A cluster's nodes wait for each other and for JetStream's leaders, which
// takes about 10 s: clusterReadyTimeout bounds that.
const (
	readyTimeout        = 20 * time.Second
	clusterReadyTimeout = 90 * time.Second
	// clusterStartTimeout bounds a cluster's whole start, each node ready
	// and listed; clusterSlowStart is when a start still under way reports
	// where it is, and clusterLogLines how much of each node's standard
	// error it shows.
	clusterStartTimeout = 2 * time.Minute
	clusterSlowStart    = 30 * time.Second
	clusterLogLines     = 12
)

// startProcess starts t's server on a free loopback port and waits until it
// answers HTTP.
func startProcess(ctx context.Context, t *target) (*process, error) {
	p, err := launch(t)
	if err != nil {
		return nil, err
	}
	if err := p.waitReady(ctx, t.readyPath, readyTimeout); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// launch starts t's server on a free loopback port and returns at once: the
// nodes of a cluster are ready only once enough of them run.
func launch(t *target) (*process, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := t.command(port)
	// Standard output stays unread (the null device): peerjs-server prints
	// a line per connection, which should cost it a write, not a pipe
	// that the generator must drain.
	p := &process{name: t.name, cmd: cmd, addr: "127.0.0.1:" + strconv.Itoa(port), stderr: &tail{}, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("failed to start %s: %w", t.name, err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// waitReady polls path until the server answers 200, for at most within.
func (p *process) waitReady(ctx context.Context, path string, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	// No keep-alive: an idle connection would hold up peerjs-server's
	// graceful exit at the end.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.addr+path, nil)
		if err != nil {
			return fmt.Errorf("failed to poll %s: %w", p.name, err)
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.exited:
			return p.alive()
		case <-ctx.Done():
			return fmt.Errorf("%s did not answer on %s: %w", p.name, p.addr, context.Cause(ctx))
		case <-tick.C:
		}
	}
}

// alive returns nil while the process runs, and otherwise an error with
// how it ended and the end of what it wrote to standard error.
func (p *process) alive() error {
	select {
	case <-p.exited:
		return fmt.Errorf("%s exited (%v): %s", p.name, p.waitErr, p.stderr)
	default:
		return nil
	}
}

// stop ends the process: SIGTERM, then SIGKILL if it has not exited within
// stopGrace. The fleet is closed first, so a graceful exit is quick.
func (p *process) stop() {
	const stopGrace = 5 * time.Second
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(stopGrace):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// addrs is where peers dial: the one address.
func (p *process) addrs() []string { return []string{p.addr} }

func (p *process) logs() string { return p.stderr.String() }

// rss is the process's resident memory in KiB.
func (p *process) rss() (float64, error) {
	kib, err := residentKiB(p.cmd.Process.Pid)
	if err != nil {
		return 0, fmt.Errorf("failed to read %s's memory: %w", p.name, err)
	}
	return kib, nil
}

// cpu is the CPU time the process has used, user and system.
func (p *process) cpu() (time.Duration, error) {
	d, err := cpuTime(p.cmd.Process.Pid)
	if err != nil {
		return 0, fmt.Errorf("failed to read %s's CPU time: %w", p.name, err)
	}
	return d, nil
}

// fileSlack is the descriptors a process needs besides its sockets.
const fileSlack = 256

// freePort asks the kernel for a loopback port nobody listens on. Another
// process could take it before the server does; in the benchmark's own
// network namespace nobody else is there.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("failed to find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail keeps the last tailSize bytes written to it: enough of a server's
// standard error to say why it failed, however much it wrote.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

const tailSize = 4 << 10

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - tailSize; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.buf) == 0 {
		return "(no output on stderr)"
	}
	return string(t.buf)
}
