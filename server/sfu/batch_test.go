//go:build !js

package sfu

import (
	"net"
	"testing"

	"github.com/skywasm/skywasm/server/metrics"
)

// testSocket is the SFU's socket on a free port of host, closed with tb.
func testSocket(tb testing.TB, host string, m *metrics.SFU) *batchConn {
	tb.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(host)})
	if err != nil {
		tb.Fatal(err)
	}
	c, err := newBatchConn(conn, true, m)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}
