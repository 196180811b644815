package signaling

import "time"

// bucket is a token bucket: rate tokens a second, up to burst. It is used by
// one goroutine and allocates nothing.
type bucket struct {
	tokens float64
	last   time.Time
	rate   float64
	burst  float64
}

func newBucket(rate, burst int, now time.Time) bucket {
	return bucket{tokens: float64(burst), last: now, rate: float64(rate), burst: float64(burst)}
}

// everyBucket is a bucket of one token per interval, up to burst. The
// interval must be positive.
func everyBucket(interval time.Duration, burst int, now time.Time) bucket {
	return bucket{tokens: float64(burst), last: now, rate: 1 / interval.Seconds(), burst: float64(burst)}
}

// allow takes a token if there is one.
func (b *bucket) allow(now time.Time) bool {
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(b.burst, b.tokens+d.Seconds()*b.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
