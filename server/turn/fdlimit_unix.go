//go:build unix

package turn

import "syscall"

// defaultMaxAllocations is a quarter of the process's file-descriptor
// limit, at least 64: an allocation is one socket, and signaling and HTTP
// need the rest.
func defaultMaxAllocations() int {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil || l.Cur == 0 {
		return 1024
	}
	return int(max(64, min(l.Cur/4, 1<<20)))
}
