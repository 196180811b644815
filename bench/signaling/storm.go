package signaling

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Metric keys of the join storm.
const (
	keyStormConnect    = "storm/connect"
	keyStormBack       = "storm/back"
	keyStormFDs        = "storm/fds"
	keyStormGoroutines = "storm/goroutines"
)

// stormSlack is how far above its baseline a server may stay after every
// peer has gone and still count as back: a few descriptors and goroutines
// of its own (a metrics scrape's connection, a timer) come and go.
const stormSlack = 8

// stormWait bounds the wait for a server to come back to its baseline.
const stormWait = 60 * time.Second

// joinStorm connects n peers as fast as the handshakes allow, drops them all
// at once, and records how long connecting took, how long the server then
// took to come back to its baseline of file descriptors (and, for a server
// that exports go_goroutines, goroutines), and how far above it it stayed.
func joinStorm(ctx context.Context, o *options, t *target, n int, figs figures, progress io.Writer) error {
	srv, err := startProcess(ctx, t)
	if err != nil {
		return err
	}
	defer srv.stop()
	fds0, err := openFiles(srv.cmd.Process.Pid)
	if err != nil {
		return err
	}
	g0, hasG := goroutines(ctx, srv.addr)
	f, took, err := connect(ctx, t, srv.addrs(), n, o.concurrency, o.perSource)
	if err != nil {
		return err
	}
	f.close()
	dropped := time.Now()
	var fds, g int
	for {
		if fds, err = openFiles(srv.cmd.Process.Pid); err != nil {
			return err
		}
		if hasG {
			g, _ = goroutines(ctx, srv.addr)
		}
		if fds <= fds0+stormSlack && (!hasG || g <= g0+stormSlack) {
			break
		}
		if time.Since(dropped) > stormWait {
			break // recorded as it stands: the excess says how far off
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
	back := time.Since(dropped)
	figs.add(keyStormConnect, float64(took)/float64(time.Millisecond))
	figs.add(keyStormBack, float64(back)/float64(time.Millisecond))
	figs.add(keyStormFDs, float64(max(0, fds-fds0)))
	fmt.Fprintf(progress, "join storm: connect %.0f ms, back to baseline in %.0f ms, %+d fds", float64(took)/float64(time.Millisecond), float64(back)/float64(time.Millisecond), fds-fds0)
	if hasG {
		figs.add(keyStormGoroutines, float64(max(0, g-g0)))
		fmt.Fprintf(progress, ", %+d goroutines", g-g0)
	}
	fmt.Fprintln(progress)
	return srv.alive()
}

// goroutines reads go_goroutines from the server's /metrics; false if it
// has none (peerjs-server).
func goroutines(ctx context.Context, addr string) (int, bool) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return 0, false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, false
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int(n), err == nil
		}
	}
	return 0, false
}
