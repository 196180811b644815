//go:build !linux

package poller

import "syscall"

// Supported says whether Register can work on this platform.
const Supported = false

// Poller is a stand-in on platforms without epoll: Register always fails.
type Poller struct{}

// New returns a Poller.
func New() *Poller { return &Poller{} }

// Register returns ErrUnsupported.
func (p *Poller) Register(raw syscall.RawConn, wake func()) (*Conn, error) {
	return nil, ErrUnsupported
}

// Conn is never returned on this platform.
type Conn struct{}

// Arm returns ErrUnsupported.
func (c *Conn) Arm() error { return ErrUnsupported }

// Close does nothing.
func (c *Conn) Close() {}
