//go:build race

package routing

// raceEnabled says whether the race detector is on: it makes sync.Pool drop
// items at random, so allocation counts through the pool vary.
const raceEnabled = true
