//go:build !linux && !js

package sfu

import "net"

// granted does not know, outside Linux, what the kernel gave conn.
func granted(*net.UDPConn) (rcv, snd int, ok bool) { return 0, 0, false }
