package sfu

import "github.com/skywasm/skywasm/bench"

// series is the ramp as the report's charts draw it: per step, forwarded
// packets/s, loss and latency p99 against subscribers.
func (r *result) series() []bench.Series {
	const x = "subscribers"
	rate := bench.Series{Chart: "SFU ramp: forwarded packets/s", Kind: "line", Name: "skywasm", X: x, Y: "forwarded packets/s"}
	loss := bench.Series{Chart: "SFU ramp: packet loss", Kind: "line", Name: "skywasm", X: x, Y: "loss (%)"}
	p99 := bench.Series{Chart: "SFU ramp: forwarding latency p99", Kind: "line", Name: "skywasm", X: x, Y: "latency p99 (ms)"}
	for _, s := range r.steps {
		n := float64(s.subscribers)
		rate.Points = append(rate.Points, bench.Point{X: n, Y: s.rate()})
		loss.Points = append(loss.Points, bench.Point{X: n, Y: 100 * s.loss()})
		if len(s.latency) > 0 {
			p99.Points = append(p99.Points, bench.Point{X: n, Y: bench.Percentile(s.latency, 99)})
		}
	}
	return []bench.Series{rate, loss, p99}
}
