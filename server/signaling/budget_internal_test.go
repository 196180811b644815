package signaling

import (
	"sync"
	"testing"
)

// TestBudgetAccounting holds the budget's two counts to what it lends:
// held is the buffers and messages in use, used is those and the free
// buffers, and neither passes the limit, free buffers of one size making
// room for the other.
func TestBudgetAccounting(t *testing.T) {
	t.Parallel()
	const (
		mid   = midBufferSize
		frame = frameBufferSize
	)
	tests := []struct {
		name  string
		limit int64
		run   func(t *testing.T, b *budget)
		// used and held are what the budget counts after run, before a trim.
		used, held int64
	}{
		{"a buffer comes back free, counted, and is lent again", frame + mid, func(t *testing.T, b *budget) {
			m := mustGet(t, b, mid)
			f := mustGet(t, b, frame)
			wantCounts(t, b, frame+mid, frame+mid)
			b.put(m)
			b.put(f)
			wantCounts(t, b, frame+mid, 0)
			b.put(mustGet(t, b, mid))
			b.put(mustGet(t, b, frame))
		}, frame + mid, 0},
		{"nothing is lent past the limit", frame + mid, func(t *testing.T, b *budget) {
			m := mustGet(t, b, mid)
			f := mustGet(t, b, frame)
			if _, ok := b.get(mid); ok {
				t.Fatal("a mid buffer lent past the limit")
			}
			if b.reserve(1) {
				t.Fatal("a message counted past the limit")
			}
			wantCounts(t, b, frame+mid, frame+mid)
			b.put(m)
			if _, ok := b.get(frame); ok {
				t.Fatal("a frame buffer lent past the limit")
			}
			b.put(f)
		}, frame + mid, 0},
		{"a free frame buffer makes room for mid buffers", frame + mid, func(t *testing.T, b *budget) {
			b.put(mustGet(t, b, frame))
			m1 := mustGet(t, b, mid)
			m2 := mustGet(t, b, mid) // drops the free frame buffer
			wantCounts(t, b, 2*mid, 2*mid)
			b.put(m1)
			b.put(m2)
		}, 2 * mid, 0},
		{"free mid buffers make room for a frame buffer", frame + mid, func(t *testing.T, b *budget) {
			mids := make([][]byte, (frame+mid)/mid)
			for i := range mids {
				mids[i] = mustGet(t, b, mid)
			}
			for _, m := range mids {
				b.put(m)
			}
			b.put(mustGet(t, b, frame))
		}, frame + mid, 0}, // one mid buffer left free
		{"free buffers make room for a message", frame + mid, func(t *testing.T, b *budget) {
			b.put(mustGet(t, b, frame))
			if !b.reserve(frame) {
				t.Fatal("no room for a message in place of a free frame buffer")
			}
			b.release(frame)
		}, 0, 0},
		{"lent and given back at once", 4*frame + 8*mid, func(t *testing.T, b *budget) {
			var wg sync.WaitGroup
			for i := range 8 {
				size := int64(mid)
				if i%2 == 0 {
					size = frame
				}
				wg.Go(func() {
					for range 200 {
						if buf, ok := b.get(size); ok {
							if u, h := b.used.Load(), b.held.Load(); u > b.limit || h > u {
								t.Errorf("used %d, held %d, limit %d", u, h, b.limit)
							}
							b.put(buf)
						}
					}
				})
			}
			wg.Wait()
		}, -1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := &budget{limit: tt.limit}
			defer b.stop()
			tt.run(t, b)
			if tt.used >= 0 {
				wantCounts(t, b, tt.used, tt.held)
			}
			if free := b.used.Load() - b.held.Load(); free != int64(len(b.free[0]))*mid+int64(len(b.free[1]))*frame {
				t.Fatalf("%d bytes counted free, but %d mid and %d frame buffers are", free, len(b.free[0]), len(b.free[1]))
			}
			b.trimFree()
			wantCounts(t, b, tt.held, tt.held)
		})
	}
}

// mustGet lends a buffer of size from b, which must have room for it.
func mustGet(t *testing.T, b *budget, size int64) []byte {
	t.Helper()
	buf, ok := b.get(size)
	if !ok || int64(len(buf)) != size {
		t.Fatalf("get(%d): %d bytes, %v; used %d of %d", size, len(buf), ok, b.used.Load(), b.limit)
	}
	return buf
}

// wantCounts fails unless b counts used and held.
func wantCounts(t *testing.T, b *budget, used, held int64) {
	t.Helper()
	if u, h := b.used.Load(), b.held.Load(); u != used || h != held {
		t.Fatalf("used %d, held %d; want %d, %d", u, h, used, held)
	}
}
