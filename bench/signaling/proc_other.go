//go:build !linux

package signaling

import (
	"errors"
	"os/exec"
	"time"
)

// errNotLinux: the benchmark reads the servers' memory and CPU time from
// Linux's /proc.
var errNotLinux = errors.New("the signaling benchmark runs on Linux only")

func residentKiB(int) (float64, error)   { return 0, errNotLinux }
func cpuTime(int) (time.Duration, error) { return 0, errNotLinux }
func dieWithParent(*exec.Cmd)            {}
func raiseFileLimit(int) error           { return errNotLinux }
func loadAverage() string                { return "?" }
func openFiles(int) (int, error)         { return 0, errNotLinux }
func peakKiB(int) (float64, error)       { return 0, errNotLinux }
