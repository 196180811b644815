//go:build linux

package sfu

import (
	"net"
	"syscall"
)

// granted returns the socket buffer sizes the kernel gave conn.
func granted(conn *net.UDPConn) (rcv, snd int, ok bool) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return 0, 0, false
	}
	err = raw.Control(func(fd uintptr) {
		rcv, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
		snd, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF)
	})
	// Linux reports twice what it grants, for its own bookkeeping.
	return rcv / 2, snd / 2, err == nil
}
