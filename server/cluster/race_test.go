//go:build race

package cluster

// raceEnabled says whether the race detector is on: it slows the NATS
// parsers so much that 20 MiB takes minutes.
const raceEnabled = true
