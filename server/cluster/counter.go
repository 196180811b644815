package cluster

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/skywasm/skywasm/server/routing"
)

// counter batches the changes to one key's peer count. The count is one
// key-value entry written by compare-and-swap, so a join storm that wrote it
// once per claim would have every node's claims retry against each other
// until they gave up. Instead the changes that arrive on a node while a
// write is in flight go together in the next one: a storm costs a round
// trip per batch, contention is between nodes only, and the limit is still
// checked against the count as written.
type counter struct {
	pending []countChange
	busy    bool // a goroutine is writing this key's batches
}

// countChange is one claim's +1, or a release's -1, waiting for its batch.
type countChange struct {
	limit, delta int
	done         chan error // buffered: the writer never waits on it
}

// count adds delta to the claims counted for key, refusing a +1 that would
// pass limit (0: no limit) with routing.ErrPeerLimit. It waits for the batch
// its change joins to be written, however long the caller's context, since
// a change written after its caller gave up would leave the count wrong;
// each write is bounded by the configured timeout.
func (r *Router) count(key string, limit, delta int) error {
	ch := countChange{limit: limit, delta: delta, done: make(chan error, 1)}
	r.mu.Lock()
	c := r.counts[key]
	if c == nil {
		c = &counter{}
		r.counts[key] = c
	}
	c.pending = append(c.pending, ch)
	start := !c.busy
	c.busy = true
	r.mu.Unlock()
	if start {
		go r.writeCounts(key, c)
	}
	return <-ch.done
}

// writeCounts writes key's batches until none is waiting.
func (r *Router) writeCounts(key string, c *counter) {
	for {
		r.mu.Lock()
		batch := c.pending
		c.pending = nil
		if len(batch) == 0 {
			c.busy = false
			delete(r.counts, key)
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
		errs := r.writeCount(key, batch)
		for i, ch := range batch {
			ch.done <- errs[i]
		}
	}
}

// writeCount applies a batch of changes to key's count in one
// compare-and-swap, retried while other nodes' batches win, and returns
// each change's outcome.
func (r *Router) writeCount(key string, batch []countChange) []error {
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.Timeout)
	defer cancel()
	errs := make([]error, len(batch))
	fail := func(err error) []error {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	k := countKey(key)
	for try := range 64 {
		if try > 0 && !backoff(ctx, try) {
			break
		}
		n, rev := 0, uint64(0)
		e, err := r.peers.Get(ctx, k)
		switch {
		case err == nil:
			n, _ = strconv.Atoi(string(e.Value()))
			rev = e.Revision()
		case !notFound(err):
			return fail(fmt.Errorf("cluster: counting the peers of a key: %w", err))
		}
		total := n
		for i, ch := range batch {
			errs[i] = nil
			if ch.delta > 0 && ch.limit > 0 && total >= ch.limit {
				errs[i] = routing.ErrPeerLimit
				continue
			}
			total = max(0, total+ch.delta)
		}
		if total == n && rev != 0 {
			return errs // every change refused, or they cancel out
		}
		val := []byte(strconv.Itoa(total))
		if rev == 0 {
			_, err = r.peers.Create(ctx, k, val)
		} else {
			_, err = r.peers.Update(ctx, k, val, rev)
		}
		if !conflict(err) {
			if err != nil {
				return fail(fmt.Errorf("cluster: counting the peers of a key: %w", err))
			}
			return errs
		}
	}
	return fail(errors.New("cluster: counting the peers of a key: too much contention"))
}
