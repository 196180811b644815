package signaling

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// residentKiB is the resident set of process pid (VmRSS), in KiB.
func residentKiB(pid int) (float64, error) { return statusKiB(pid, "VmRSS:") }

// peakKiB is the peak resident set of process pid (VmHWM), in KiB.
func peakKiB(pid int) (float64, error) { return statusKiB(pid, "VmHWM:") }

// statusKiB reads a field of /proc/PID/status given in kB.
func statusKiB(pid int, field string) (float64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(data) {
		rest, ok := bytes.CutPrefix(line, []byte(field))
		if !ok {
			continue
		}
		// "VmRSS:	   12345 kB"
		num, _, _ := bytes.Cut(bytes.TrimSpace(rest), []byte(" "))
		return strconv.ParseFloat(string(num), 64)
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture Go supports, whatever the kernel's own tick.
const clockTicks = 100

// cpuTime is the user and system CPU time of process pid so far.
func cpuTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces:
	// count the fields from the last ')'. utime and stime are fields 14
	// and 15, so the 12th and 13th after it.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	fields := bytes.Fields(data[i+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(string(f), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("malformed /proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// dieWithParent has the kernel kill cmd's process if the generator dies
// first, so that an interrupted run leaves no server behind.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// raiseFileLimit lifts the soft limit on open files to the hard limit and
// checks that it leaves room for need descriptors. The servers inherit it:
// Node does not raise its own, and peerjs-server needs a descriptor per
// peer just as the generator does. (Go raises its own limit at start but
// restores the old one for its children unless the program sets it.)
func raiseFileLimit(need int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("failed to read the open-file limit: %w", err)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("failed to raise the open-file limit: %w", err)
	}
	if lim.Cur < uint64(need) {
		return fmt.Errorf("the open-file limit is %d and the run needs about %d: raise the hard limit (ulimit -Hn)", lim.Cur, need)
	}
	return nil
}

// loadAverage is the machine's one-minute load average, or "?": other work
// on the machine shows in the figures, and this says how much there was.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	first, _, _ := bytes.Cut(data, []byte(" "))
	return string(first)
}

// openFiles counts the file descriptors of process pid.
func openFiles(pid int) (int, error) {
	entries, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		return 0, fmt.Errorf("failed to count the descriptors of %d: %w", pid, err)
	}
	return len(entries), nil
}
