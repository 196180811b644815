//go:build !js

package sfu

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/skywasm/skywasm/server/config"
)

// server is `skywasm serve` running as a child process, so that its CPU
// time is its own and can be read from /proc.
type server struct {
	cmd      *exec.Cmd
	url, key string
	dir      string         // holds its config file
	waited   chan struct{}  // closed when the process has been waited for
	waitErr  error          // set before waited is closed
	drain    sync.WaitGroup // copies the rest of its stdout away

	skywasmMetrics bool   // its /metrics has skywasm's SFU counters
	onStop         func() // if set, called once the process has ended
}

// startupWait bounds how long the server may take to print its address.
const startupWait = 15 * time.Second

// startServer runs `skywasm serve` on a free port of 127.0.0.1 (its SFU
// takes the same port number for UDP) and waits until it has printed its
// URL. Its configuration is dev mode's — one app with a fresh key, the SFU
// allowed — except that a room may hold members peers (dev mode's 100 is
// below what this machine holds) and the SFU has no admission limits. Its log goes to logs.
func startServer(ctx context.Context, skywasm string, shed bool, members int, logs io.Writer) (*server, error) {
	cfg, err := config.Dev()
	if err != nil {
		return nil, fmt.Errorf("failed to make the server's configuration: %w", err)
	}
	cfg.Addr = ""
	cfg.Apps[0].Limits = config.Limits{MaxPeers: members + 16, MaxRoomMembers: members}
	// The ramp goes past what the node holds, to find where it breaks.
	cfg.SFU = config.SFU{MaxParticipants: config.NoLimit, MaxTracksPerCPU: config.NoLimit, ShedLoad: &shed}
	data, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to encode the server's configuration: %w", err)
	}
	dir, err := os.MkdirTemp("", "skywasm-bench-sfu-")
	if err != nil {
		return nil, fmt.Errorf("failed to write the server's configuration: %w", err)
	}
	file := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("failed to write the server's configuration: %w", err)
	}
	cmd := exec.Command(skywasm, "serve", "-config", file, "-addr", "127.0.0.1:0", "-static", "", "-log-level", "warn")
	// SKYWASM_* variables stand in for flags not given (SKYWASM_SFU_UDP,
	// say): leave them out, so that the server runs as written here.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SKYWASM_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Stderr = logs // exec copies to it from a goroutine of its own
	out, err := cmd.StdoutPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("failed to start %s: %w", skywasm, err)
	}
	s := &server{cmd: cmd, key: cfg.Apps[0].Key, dir: dir, waited: make(chan struct{}), skywasmMetrics: true}
	lines := bufio.NewScanner(out)
	found := make(chan error, 1)
	s.drain.Go(func() {
		report := found // nil once reported
		for lines.Scan() {
			if report == nil {
				continue // the rest is drained unread
			}
			if u, ok := strings.CutPrefix(lines.Text(), "skywasm: listening on "); ok {
				s.url = strings.TrimSuffix(strings.TrimSpace(u), "/")
				report <- nil
				report = nil
			}
		}
		if report != nil {
			err := errors.New("it exited without printing its URL")
			if lines.Err() != nil {
				err = lines.Err()
			}
			report <- err
		}
	})
	go func() {
		// The drain ends at EOF, which Wait must not race with: Wait
		// closes the pipe.
		s.drain.Wait()
		s.waitErr = cmd.Wait()
		close(s.waited)
	}()
	timer := time.NewTimer(startupWait)
	defer timer.Stop()
	select {
	case err = <-found:
	case <-timer.C:
		err = fmt.Errorf("it printed no URL within %v", startupWait)
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("failed to start %s serve: %w", skywasm, err)
	}
	return s, nil
}

// stopWait is how long the server has to shut down after SIGTERM; serve
// itself gives up after about 4.5 s.
const stopWait = 8 * time.Second

// stop ends the server with SIGTERM, as an operator would, and kills it if
// it has not exited within stopWait.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.waited:
	case <-time.After(stopWait):
		_ = s.cmd.Process.Kill()
		<-s.waited
	}
	os.RemoveAll(s.dir)
	if s.onStop != nil {
		s.onStop()
	}
}

// rss is the server's resident memory in bytes.
func (s *server) rss() (int64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(s.cmd.Process.Pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("failed to read the server's memory: %w", err)
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("failed to read the server's memory: %w", err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("failed to read the server's memory: no VmRSS")
}

// exited returns an error if the server has exited, which it must not do
// before stop.
func (s *server) exited() error {
	select {
	case <-s.waited:
		return fmt.Errorf("the server exited: %v", s.waitErr)
	default:
		return nil
	}
}

// cpu is the CPU time the server has used so far.
func (s *server) cpu() (time.Duration, error) {
	return cpuTime(strconv.Itoa(s.cmd.Process.Pid))
}

// userHZ is the unit of the times in /proc/PID/stat: Linux reports them in
// USER_HZ ticks, 100 a second on every architecture Go runs on here.
const userHZ = 100

// cpuTime returns the user and system CPU time of every thread of process
// pid ("self" for this one) so far.
func cpuTime(pid string) (time.Duration, error) {
	data, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, fmt.Errorf("failed to read CPU time: %w", err)
	}
	// The command name, in parentheses, may hold spaces: count fields
	// from after it. There, field 3 (state) is the first; utime and stime
	// are fields 14 and 15.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("failed to read CPU time: /proc/%s/stat has no command name", pid)
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("failed to read CPU time: /proc/%s/stat has %d fields", pid, len(f)+2)
	}
	var ticks int64
	for _, field := range f[11:13] {
		n, err := strconv.ParseInt(field, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("failed to read CPU time from /proc/%s/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}
