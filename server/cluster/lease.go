package cluster

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/routing"
)

// refresh renews this node's lease. A lease that lapsed (the others may
// have buried this node and released its claims) fences the node: every
// peer held here is evicted, and the node comes back as a new incarnation.
func (r *Router) refresh(ctx context.Context) error {
	r.mu.Lock()
	inc, rev, load := r.inc, r.nodeRev, len(r.holders)
	r.mu.Unlock()
	if r.cfg.Load != nil {
		load = r.cfg.Load()
	}
	val := mustJSON(NodeInfo{Name: r.cfg.Node, Inc: inc, PublicURL: r.cfg.PublicURL, Load: load})
	var err error
	if rev == 0 {
		// A previous incarnation under this name is dead by definition.
		rev, err = r.nodes.Put(ctx, token(r.cfg.Node), val)
	} else {
		rev, err = r.nodes.Update(ctx, token(r.cfg.Node), val, rev)
	}
	switch {
	case conflict(err) || notFound(err):
		r.log.Warn("the node's lease lapsed: evicting its peers", "node", r.cfg.Node)
		r.fence()
		return err
	case err != nil:
		return err
	}
	r.mu.Lock()
	if r.inc == inc {
		r.nodeRev, r.leaseOK = rev, r.now()
	}
	r.mu.Unlock()
	return nil
}

// fence evicts every peer held here and starts a new incarnation.
func (r *Router) fence() {
	r.mu.Lock()
	holders := r.holders
	rooms := r.local
	r.holders = make(map[string]*holder)
	r.local = make(map[string]*localRoom)
	r.remote = make(map[peerKey]*remote)
	r.inc, r.nodeRev = newID(), 0
	r.mu.Unlock()
	for _, lr := range rooms {
		_ = lr.sub.Unsubscribe()
	}
	for _, h := range holders {
		_ = h.sub.Unsubscribe()
		h.inbox.Evict(routing.Fenced)
	}
}

// sweep reads the live nodes and returns the incarnations that died since
// the last sweep.
func (r *Router) sweep(ctx context.Context) ([]string, error) {
	entries, err := r.list(ctx, r.nodes, ">")
	if err != nil {
		return nil, err
	}
	live := make(map[string]NodeInfo, len(entries))
	for _, e := range entries {
		var n NodeInfo
		if json.Unmarshal(e.Value(), &n) == nil && n.Inc != "" {
			live[n.Inc] = n
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var dead []string
	for inc := range r.live {
		if _, ok := live[inc]; !ok && inc != r.inc {
			dead = append(dead, inc)
		}
	}
	r.live = live
	r.m.Nodes.Set(float64(len(live)))
	return dead, nil
}

// mourn schedules the burial of dead incarnations ("" for a check of
// every claim held by no live node).
func (r *Router) mourn(incs ...string) {
	due := r.now().Add(r.cfg.ReclaimWindow + r.cfg.Lease/2)
	for _, inc := range incs {
		select {
		case r.deaths <- death{inc: inc, due: due}:
		default:
			r.log.Warn("too many node deaths at once: one left unburied", "inc", inc)
		}
	}
}

// leaseLoop refreshes the lease and watches the others'.
func (r *Router) leaseLoop() {
	defer r.wg.Done()
	t := time.NewTicker(r.cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), r.cfg.Timeout)
		if err := r.refresh(ctx); err != nil {
			r.log.Warn("refreshing the node's lease failed", "err", err)
		}
		dead, err := r.sweep(ctx)
		cancel()
		if err != nil {
			r.log.Warn("reading the nodes' leases failed", "err", err)
		}
		r.mourn(dead...)
		r.countReconnects()
		r.mu.Lock()
		lapsed := r.nodeRev != 0 && r.now().Sub(r.leaseOK) > r.cfg.Lease+r.cfg.ReclaimWindow
		r.mu.Unlock()
		if lapsed {
			// The others may have released this node's claims by now.
			r.log.Warn("no lease for longer than the reclaim window: evicting the node's peers", "node", r.cfg.Node)
			r.fence()
		}
	}
}

// janitor buries dead nodes once their reclaim window has passed.
func (r *Router) janitor() {
	defer r.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.wg.Go(func() {
		select {
		case <-r.stop:
			cancel()
		case <-ctx.Done():
		}
	})
	r.mourn("") // claims of nodes that died before this one started
	for {
		var d death
		select {
		case <-r.stop:
			return
		case d = <-r.deaths:
		}
		if wait := d.due.Sub(r.now()); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-r.stop:
				t.Stop()
				return
			case <-t.C:
			}
		}
		r.bury(ctx, d.inc)
	}
}

// bury tells the peers here that talked to a dead node's peers that they
// left, unless they came back on another node; the janitor of the cluster
// (the live node first by name) also releases the dead claims and takes
// their peers out of their rooms.
func (r *Router) bury(ctx context.Context, inc string) {
	r.mu.Lock()
	var gone []peerKey
	for pk, rm := range r.remote {
		if rm.inc == inc {
			gone = append(gone, pk)
		}
	}
	r.mu.Unlock()
	for _, pk := range gone {
		if r.claimedLive(ctx, pk.key, pk.id) {
			continue // it lives on elsewhere
		}
		r.tellLeft(pk)
	}
	if !r.isJanitor() {
		return
	}
	claims, err := r.list(ctx, r.peers, "p.>")
	if err != nil {
		r.log.Warn("listing claims for a dead node failed", "err", err)
		return
	}
	// Sweep after listing: a claim listed was made by a node that had
	// announced itself before, so it is in this sweep if it lives.
	dead, err := r.sweep(ctx)
	if err != nil {
		r.log.Warn("reading the nodes' leases failed", "err", err)
		return
	}
	r.mourn(dead...)
	released := make(map[peerKey]bool)
	for _, e := range claims {
		var c claimValue
		if json.Unmarshal(e.Value(), &c) != nil || r.isLive(c.Inc) {
			continue
		}
		f := strings.Split(e.Key(), ".")
		if len(f) != 3 {
			continue
		}
		key, ok1 := untoken(f[1])
		id, ok2 := untoken(f[2])
		if !ok1 || !ok2 {
			continue
		}
		if err := r.peers.Delete(ctx, e.Key(), jetstream.LastRevision(e.Revision())); err != nil {
			continue // reclaimed meanwhile, or NATS failing: the next burial tries again
		}
		if c.Counted {
			r.uncount(key)
		}
		released[peerKey{key, id}] = true
	}
	if len(released) == 0 {
		return
	}
	rooms, err := r.list(ctx, r.rooms, ">")
	if err != nil {
		r.log.Warn("listing rooms for a dead node failed", "err", err)
		return
	}
	for _, e := range rooms {
		var v roomValue
		f := strings.Split(e.Key(), ".")
		if json.Unmarshal(e.Value(), &v) != nil || len(f) != 2 {
			continue
		}
		key, ok1 := untoken(f[0])
		name, ok2 := untoken(f[1])
		if !ok1 || !ok2 {
			continue
		}
		for _, m := range v.Members {
			if !released[peerKey{key, m}] {
				continue
			}
			left, err := r.LeaveRoom(ctx, key, name, m)
			if err != nil || left == 0 {
				continue
			}
			frame, err := protocol.Marshal(protocol.RoomUserLeave, protocol.RoomUserLeavePayload{RoomName: name, Src: m})
			if err != nil {
				continue
			}
			msg := routing.NewMessage(false)
			msg.Data = append(msg.Data, frame...)
			if err := r.Broadcast(ctx, key, name, m, msg); err != nil {
				r.log.Warn("announcing a dead peer's leave failed", "room", name, "err", err)
			}
		}
	}
}

// tellLeft delivers LEAVE from a remote peer that is gone to the local
// peers that talked to it.
func (r *Router) tellLeft(pk peerKey) {
	r.mu.Lock()
	rm := r.remote[pk]
	delete(r.remote, pk)
	var inboxes []routing.Inbox
	if rm != nil {
		for local := range rm.locals {
			if h := r.holders[peerSubject(pk.key, local)]; h != nil {
				delete(h.contacts, pk.id)
				inboxes = append(inboxes, h.inbox)
			}
		}
	}
	r.mu.Unlock()
	if len(inboxes) == 0 {
		return
	}
	frame, err := protocol.Marshal(protocol.Leave, protocol.LeavePayload{Src: pk.id})
	if err != nil {
		return
	}
	for _, in := range inboxes {
		msg := routing.NewMessage(false)
		msg.Data = append(msg.Data, frame...)
		in.Deliver(msg)
	}
}

// isJanitor reports whether this node is the live node first by name, the
// one that releases dead nodes' claims.
func (r *Router) isJanitor() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for inc, n := range r.live {
		if n.Name < r.cfg.Node || (n.Name == r.cfg.Node && inc < r.inc) {
			return false
		}
	}
	return true
}

// countReconnects adds the connections' reconnections since the last call
// to the metric.
func (r *Router) countReconnects() {
	n := r.nc.Stats().Reconnects
	if r.kvc != r.nc {
		n += r.kvc.Stats().Reconnects
	}
	if n > r.reconnects {
		r.m.Reconnects.Add(float64(n - r.reconnects))
		r.reconnects = n
	}
}
