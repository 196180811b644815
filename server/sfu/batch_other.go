//go:build !linux && !js

package sfu

import (
	"net"
	"net/netip"

	"github.com/skywasm/skywasm/server/metrics"
)

// batchConn is the SFU's UDP socket. Outside Linux there is no sendmmsg,
// and every write goes straight out.
type batchConn struct{ *net.UDPConn }

func newBatchConn(conn *net.UDPConn, _ bool, _ *metrics.SFU) (*batchConn, error) {
	return &batchConn{conn}, nil
}

func (c *batchConn) hold()    {}
func (c *batchConn) release() {}

// WriteToAddrPort implements ice.AddrPortReaderWriter.
func (c *batchConn) WriteToAddrPort(p []byte, a netip.AddrPort) (int, error) {
	return c.UDPConn.WriteToUDPAddrPort(p, a)
}

// ReadFromAddrPort implements ice.AddrPortReaderWriter.
func (c *batchConn) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	return c.UDPConn.ReadFromUDPAddrPort(p)
}
