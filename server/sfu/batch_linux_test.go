//go:build linux

package sfu

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/skywasm/skywasm/server/metrics"
)

// receiver reads what a socket on host gets, in order.
func receiver(t *testing.T, host string) (*net.UDPConn, netip.AddrPort) {
	t.Helper()
	r, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(host)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, r.LocalAddr().(*net.UDPAddr).AddrPort()
}

func expectPackets(t *testing.T, r *net.UDPConn, want ...[]byte) {
	t.Helper()
	buf := make([]byte, 2048)
	for i, w := range want {
		_ = r.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := r.Read(buf)
		if err != nil {
			t.Fatalf("packet %d of %d: %v", i+1, len(want), err)
		}
		if !bytes.Equal(buf[:n], w) {
			t.Fatalf("packet %d: got %d bytes %.8x…, want %d bytes %.8x…", i+1, n, buf[:n], len(w), w)
		}
	}
}

func nothingYet(t *testing.T, r *net.UDPConn) {
	t.Helper()
	_ = r.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, err := r.Read(make([]byte, 2048)); err == nil {
		t.Fatalf("a %d-byte packet arrived while the socket was held", n)
	}
}

func packet(i, size int) []byte {
	p := bytes.Repeat([]byte{byte(i)}, size)
	copy(p, fmt.Sprint(i))
	return p
}

// TestBatchConn: writes made while the socket is held reach the kernel
// when it is released (or the batch fills), in order, each to its own
// address; writes while nobody holds it go straight out; a packet too
// large for a batch slot goes out on its own, after what was batched.
func TestBatchConn(t *testing.T) {
	for _, tc := range []struct{ name, local, remote string }{
		{"ipv4", "127.0.0.1", "127.0.0.1"},
		{"ipv6", "::1", "::1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := metrics.NewSFU(nil)
			c := testSocket(t, tc.local, m)
			r1, a1 := receiver(t, tc.remote)
			r2, a2 := receiver(t, tc.remote)

			direct := packet(0, 100)
			if _, err := c.WriteToAddrPort(direct, a1); err != nil {
				t.Fatal(err)
			}
			expectPackets(t, r1, direct)

			c.hold()
			held := packet(1, 100)
			_, _ = c.WriteToAddrPort(held, a1)
			nothingYet(t, r1)
			c.release()
			expectPackets(t, r1, held)

			c.hold()
			var to1, to2 [][]byte
			for i := 1; i <= 2*batchSize+3; i++ { // two full batches and some
				p := packet(i, 200+i)
				if i%2 == 0 {
					to2 = append(to2, p)
					_, _ = c.WriteToAddrPort(p, a2)
				} else {
					to1 = append(to1, p)
					_, _ = c.WriteTo(p, net.UDPAddrFromAddrPort(a1))
				}
			}
			big := packet(999, batchMTU+100)
			_, _ = c.WriteToAddrPort(big, a1) // flushes the batch first
			to1 = append(to1, big)
			last := packet(1000, 50)
			_, _ = c.WriteToAddrPort(last, a2)
			to2 = append(to2, last)
			c.release()
			expectPackets(t, r1, to1...)
			expectPackets(t, r2, to2...)
			if got := testutil.ToFloat64(m.BatchedPackets); got != 2*batchSize+5 {
				t.Errorf("batched packets = %v, want %d", got, 2*batchSize+5)
			}
			if got := testutil.ToFloat64(m.WriteBatches); got != 5 {
				t.Errorf("batches = %v, want 5 (one, two full, one before the large packet, one at release)", got)
			}
		})
	}
}

// TestBatchConnAllocatesNothing: a held write and a release allocate
// nothing.
func TestBatchConnAllocatesNothing(t *testing.T) {
	c := testSocket(t, "127.0.0.1", metrics.NewSFU(nil))
	_, to := receiver(t, "127.0.0.1")
	p := packet(1, 1200)
	step := func() {
		c.hold()
		for range 10 {
			_, _ = c.WriteToAddrPort(p, to)
		}
		c.release()
	}
	step()
	if allocs := testing.AllocsPerRun(200, step); allocs != 0 {
		t.Errorf("%.1f allocations per 10 batched writes", allocs)
	}
}

// BenchmarkSocketWrite compares a 1,200-byte packet written on its own
// (sendto) with one written in a batch of 32 (sendmmsg), on loopback.
func BenchmarkSocketWrite(b *testing.B) {
	for _, n := range []int{1, 32} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			c := testSocket(b, "127.0.0.1", metrics.NewSFU(nil))
			r, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			go func() {
				buf := make([]byte, 2048)
				for {
					if _, err := r.Read(buf); err != nil {
						return
					}
				}
			}()
			to := r.LocalAddr().(*net.UDPAddr).AddrPort()
			p := packet(1, 1200)
			b.SetBytes(int64(len(p)))
			b.ResetTimer()
			for i := 0; i < b.N; i += n {
				if n > 1 {
					c.hold()
				}
				for range n {
					_, _ = c.WriteToAddrPort(p, to)
				}
				if n > 1 {
					c.release()
				}
			}
		})
	}
}
