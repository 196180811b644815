package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/skywasm/skywasm/server/metrics"
	"github.com/skywasm/skywasm/server/routing"
)

// Router is a routing.Router spanning every node connected to one NATS
// cluster. Its peers and rooms live in JetStream key-value buckets; what
// it delivers crosses nodes on NATS subjects.
type Router struct {
	cfg  Config
	nc   *nats.Conn // deliveries
	kvc  *nats.Conn // the key-value store, the room log and the lease
	js   jetstream.JetStream
	m    *metrics.Cluster
	log  *slog.Logger
	now  func() time.Time
	seq  atomic.Uint64 // numbers chunked messages
	ch   chan *nats.Msg
	stop chan struct{}
	wg   sync.WaitGroup

	peers, rooms, nodes, pins jetstream.KeyValue

	reconnects uint64 // NATS reconnections counted so far; the lease loop's own

	deaths  chan death
	nodeSub *nats.Subscription // evictions, on the node's own subject

	mu      sync.Mutex
	inc     string                      // this incarnation of the node
	nodeRev uint64                      // the revision of this node's lease
	leaseOK time.Time                   // when the lease was last refreshed
	holders map[string]*holder          // by peer subject
	counts  map[string]*counter         // peer counts being written, by key
	local   map[string]*localRoom       // rooms with members joined here, by room subject
	logs    map[string]jetstream.Stream // room-log streams by key, made on first use
	remote  map[peerKey]*remote         // remote peers the local ones talked to
	live    map[string]NodeInfo         // live nodes by incarnation
	closed  bool
	sfu     *SFU // the pinned SFU, if the node has one
}

type peerKey struct{ key, id string }

// holder is a peer held on this node.
type holder struct {
	key, id, token string
	inbox          routing.Inbox
	sub            *nats.Subscription
	rev            uint64 // the claim's revision
	counted        bool   // counted towards maxPeers
	contacts       map[string]struct{}
}

// localRoom is a room with members that joined through this node.
type localRoom struct {
	key, name, epoch string
	sub              *nats.Subscription
	members          map[string]struct{}
	// logJSON is the room's log encoded for ROOM_LOGS, as of the log's
	// stream sequence logSeq (see RoomLogJSON).
	logJSON []byte
	logSeq  uint64
}

// remote is a peer on another node that local peers talked to: when its
// node dies, they are told it left.
type remote struct {
	inc    string
	locals map[string]struct{}
}

// death is a node that stopped refreshing its lease, to be buried once
// the reclaim window has passed.
type death struct {
	inc string
	due time.Time
}

var _ routing.Router = (*Router)(nil)

// New joins the cluster nc is connected to: it creates the buckets and the
// log stream if need be, announces this node and starts the dispatcher and
// the lease. nc (and cfg.KVConn) must stay open until Close returns.
func New(ctx context.Context, nc *nats.Conn, cfg Config) (*Router, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	kvc := cfg.KVConn
	if kvc == nil {
		kvc = nc
	}
	js, err := jetstream.New(kvc)
	if err != nil {
		return nil, fmt.Errorf("cluster: JetStream: %w", err)
	}
	m := cfg.Metrics
	if m == nil {
		m = metrics.NewCluster(nil)
	}
	r := &Router{
		cfg: cfg, nc: nc, kvc: kvc, js: js, m: m, log: cfg.Logger, now: time.Now,
		ch:      make(chan *nats.Msg, cfg.QueueLength),
		stop:    make(chan struct{}),
		deaths:  make(chan death, 256),
		inc:     newID(),
		holders: make(map[string]*holder),
		counts:  make(map[string]*counter),
		local:   make(map[string]*localRoom),
		logs:    make(map[string]jetstream.Stream),
		remote:  make(map[peerKey]*remote),
		live:    make(map[string]NodeInfo),
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	kv := func(name string, ttl time.Duration) (jetstream.KeyValue, error) {
		c := jetstream.KeyValueConfig{Bucket: name, Storage: jetstream.MemoryStorage, Replicas: cfg.Replicas, History: 1, TTL: ttl}
		_, err := js.CreateKeyValue(ctx, c)
		if err != nil && !errors.Is(err, jetstream.ErrBucketExists) {
			return nil, fmt.Errorf("cluster: bucket %s: %w", name, err)
		}
		// Direct gets may be answered by a replica that lags behind:
		// reads must see the last write, so they go to the leader.
		s, err := js.Stream(ctx, "KV_"+name)
		if err != nil {
			return nil, fmt.Errorf("cluster: bucket %s: %w", name, err)
		}
		if sc := s.CachedInfo().Config; sc.AllowDirect {
			sc.AllowDirect = false
			if _, err := js.UpdateStream(ctx, sc); err != nil {
				return nil, fmt.Errorf("cluster: bucket %s: %w", name, err)
			}
		}
		b, err := js.KeyValue(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("cluster: bucket %s: %w", name, err)
		}
		return timedKV{b, m.KV}, nil
	}
	// The buckets at once: each costs JetStream consensus rounds (create,
	// update, a leader election), which on a loaded machine took over 5 s
	// a bucket one after another.
	buckets := []struct {
		name string
		ttl  time.Duration
		kv   *jetstream.KeyValue
	}{{peersBucket, 0, &r.peers}, {roomsBucket, 0, &r.rooms}, {nodesBucket, cfg.Lease, &r.nodes}, {pinsBucket, 0, &r.pins}}
	errs := make([]error, len(buckets))
	var wg sync.WaitGroup
	for i, b := range buckets {
		wg.Go(func() { *b.kv, errs[i] = kv(b.name, b.ttl) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	nodeSub, err := nc.ChanSubscribe(nodeSubject(cfg.Node), r.ch)
	if err != nil {
		return nil, fmt.Errorf("cluster: subscribing to the node's subject: %w", err)
	}
	r.nodeSub = nodeSub
	if err := r.refresh(ctx); err != nil {
		_ = nodeSub.Unsubscribe()
		return nil, err
	}
	if _, err := r.sweep(ctx); err != nil {
		_ = nodeSub.Unsubscribe()
		return nil, err
	}
	r.wg.Add(3)
	go r.dispatch()
	go r.leaseLoop()
	go r.janitor()
	return r, nil
}

// Close stops the node: it withdraws its lease, so that the others bury it
// at once, and stops its goroutines. The claims it holds stay until the
// others release them after the reclaim window, so their peers can
// reconnect elsewhere meanwhile.
func (r *Router) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	pinned := r.sfu
	subs := make([]*nats.Subscription, 0, 1+len(r.holders)+len(r.local))
	subs = append(subs, r.nodeSub)
	for _, h := range r.holders {
		subs = append(subs, h.sub)
	}
	for _, lr := range r.local {
		subs = append(subs, lr.sub)
	}
	rev := r.nodeRev
	r.mu.Unlock()
	if pinned != nil {
		pinned.close()
	}
	close(r.stop)
	r.wg.Wait()
	for _, s := range subs {
		_ = s.Unsubscribe()
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.Timeout)
	defer cancel()
	if !r.kvc.IsConnected() {
		return nil // the lease lapses by itself
	}
	if err := r.nodes.Delete(ctx, token(r.cfg.Node), jetstream.LastRevision(rev)); err != nil {
		return fmt.Errorf("cluster: withdrawing the lease: %w", err)
	}
	return nil
}

// Incarnation names this run of the node: a node restarted under the same
// name is another incarnation.
func (r *Router) Incarnation() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inc
}

// Ready reports whether the node has a NATS connection and a current
// lease.
func (r *Router) Ready() bool {
	r.mu.Lock()
	ok := !r.closed && r.now().Sub(r.leaseOK) < r.cfg.Lease
	r.mu.Unlock()
	return ok && r.nc.IsConnected() && r.kvc.IsConnected()
}

// Nodes returns the live nodes, least loaded first.
func (r *Router) Nodes() []NodeInfo {
	r.mu.Lock()
	out := make([]NodeInfo, 0, len(r.live))
	for _, n := range r.live {
		out = append(out, n)
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Load != out[j].Load {
			return out[i].Load < out[j].Load
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// bound limits ctx to the configured timeout.
func (r *Router) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.cfg.Timeout)
}

// backoff waits a little, more after each try, jittered so that nodes
// contending for one key spread out; false if ctx ended.
func backoff(ctx context.Context, try int) bool {
	d := time.Duration(1+mrand.IntN(1<<min(try, 6))) * time.Millisecond
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func notFound(err error) bool {
	return errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted)
}

func conflict(err error) bool {
	return errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists)
}

// Claim implements routing.Router.
func (r *Router) Claim(ctx context.Context, c routing.Claim, inbox routing.Inbox) error {
	ctx, cancel := r.bound(ctx)
	defer cancel()
	subj := peerSubject(c.Key, c.ID)
	r.mu.Lock()
	if h := r.holders[subj]; h != nil {
		if c.Token == "" || h.token != c.Token {
			r.mu.Unlock()
			return routing.ErrIDTaken
		}
		prev := h.inbox
		h.inbox = inbox
		r.mu.Unlock()
		if prev != inbox {
			prev.Evict(routing.Reclaimed)
		}
		return nil
	}
	inc := r.inc
	r.mu.Unlock()
	k := claimKey(c.Key, c.ID)
	counted := c.MaxPeers > 0
	fresh := mustJSON(claimValue{Node: r.cfg.Node, Inc: inc, Token: c.Token, Counted: counted})
	for try := range 32 {
		if try > 0 && !backoff(ctx, try) {
			break
		}
		// Most IDs asked for are free: create first, and read the claim
		// only when there is one. Count second: a claim that finds the ID
		// taken must say so, not that the key is full.
		rev, err := r.peers.Create(ctx, k, fresh)
		switch {
		case err == nil:
			if counted {
				if err := r.count(c.Key, c.MaxPeers, 1); err != nil {
					r.unclaim(c.Key, c.ID, rev, false)
					return err
				}
			}
			return r.hold(ctx, c, inbox, rev, counted, "", "")
		case !conflict(err):
			return fmt.Errorf("cluster: claiming %q: %w", c.ID, err)
		}
		e, err := r.peers.Get(ctx, k)
		switch {
		case notFound(err):
			continue // released since the create
		case err != nil:
			return fmt.Errorf("cluster: claiming %q: %w", c.ID, err)
		}
		var old claimValue
		if err := json.Unmarshal(e.Value(), &old); err != nil {
			return fmt.Errorf("cluster: claim of %q: %w", c.ID, err)
		}
		if c.Token == "" || old.Token != c.Token {
			return routing.ErrIDTaken
		}
		val := mustJSON(claimValue{Node: r.cfg.Node, Inc: inc, Token: c.Token, Counted: old.Counted})
		rev, err = r.peers.Update(ctx, k, val, e.Revision())
		if conflict(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("cluster: reclaiming %q: %w", c.ID, err)
		}
		return r.hold(ctx, c, inbox, rev, old.Counted, old.Node, old.Inc)
	}
	return fmt.Errorf("cluster: claiming %q: the claim kept changing", c.ID)
}

// hold makes this node the holder of a claim just written to the bucket:
// it evicts the previous holder on another node and subscribes to the
// peer's subject.
func (r *Router) hold(ctx context.Context, c routing.Claim, inbox routing.Inbox, rev uint64, counted bool, prevNode, prevInc string) error {
	subj := peerSubject(c.Key, c.ID)
	if prevInc != "" && prevInc != r.Incarnation() {
		// Through the node's own subject, whose interest every server
		// has known since the node started: a peer's subject may be too
		// new to have reached this server.
		m := nats.NewMsg(nodeSubject(prevNode))
		m.Header.Set(hdrOp, "evict")
		m.Header.Set(hdrPeer, subj)
		m.Header.Set(hdrOrigin, r.Incarnation())
		// No responders: the previous holder is gone already.
		_, _ = r.nc.RequestMsgWithContext(ctx, m)
	}
	sub, err := r.nc.ChanSubscribe(subj, r.ch)
	if err == nil {
		err = r.nc.FlushWithContext(ctx)
	}
	if err != nil {
		if sub != nil {
			_ = sub.Unsubscribe()
		}
		r.unclaim(c.Key, c.ID, rev, counted)
		return fmt.Errorf("cluster: subscribing for %q: %w", c.ID, err)
	}
	r.mu.Lock()
	prev := r.holders[subj]
	if r.closed {
		r.mu.Unlock()
		_ = sub.Unsubscribe()
		return errors.New("cluster: the router is closed")
	}
	if prev != nil {
		// A claim with the same token raced this one on this node.
		old := prev.inbox
		prev.inbox, prev.rev = inbox, rev
		r.mu.Unlock()
		_ = sub.Unsubscribe()
		if old != inbox {
			old.Evict(routing.Reclaimed)
		}
		return nil
	}
	r.holders[subj] = &holder{key: c.Key, id: c.ID, token: c.Token, inbox: inbox, sub: sub, rev: rev, counted: counted}
	r.mu.Unlock()
	return nil
}

// unclaim deletes a claim this node wrote, in the background of a failure.
func (r *Router) unclaim(key, id string, rev uint64, counted bool) {
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.Timeout)
	defer cancel()
	if err := r.peers.Delete(ctx, claimKey(key, id), jetstream.LastRevision(rev)); err == nil && counted {
		r.uncount(key)
	}
}

// uncount gives back one counted claim.
func (r *Router) uncount(key string) {
	if err := r.count(key, 0, -1); err != nil {
		r.log.Warn("uncounting a peer failed", "err", err)
	}
}

// Release implements routing.Router.
func (r *Router) Release(ctx context.Context, key, id string, inbox routing.Inbox) error {
	subj := peerSubject(key, id)
	r.mu.Lock()
	h := r.holders[subj]
	if h == nil || h.inbox != inbox {
		r.mu.Unlock()
		return nil
	}
	r.dropLocked(h)
	r.mu.Unlock()
	_ = h.sub.Unsubscribe()
	ctx, cancel := r.bound(ctx)
	defer cancel()
	err := r.peers.Delete(ctx, claimKey(key, id), jetstream.LastRevision(h.rev))
	switch {
	case conflict(err):
		return nil // another node holds it now
	case err != nil:
		return fmt.Errorf("cluster: releasing %q: %w", id, err)
	}
	if h.counted {
		return r.count(key, 0, -1)
	}
	return nil
}

// dropLocked forgets a local holder and whom it talked to.
func (r *Router) dropLocked(h *holder) {
	delete(r.holders, peerSubject(h.key, h.id))
	for id := range h.contacts {
		pk := peerKey{h.key, id}
		if rm := r.remote[pk]; rm != nil {
			delete(rm.locals, h.id)
			if len(rm.locals) == 0 {
				delete(r.remote, pk)
			}
		}
	}
}

// noteContact remembers that local peer talked to remote peer id on the
// node incarnation inc.
func (r *Router) noteContact(key, local, id, inc string) {
	if inc == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.holders[peerSubject(key, local)]
	if h == nil || inc == r.inc {
		return
	}
	pk := peerKey{key, id}
	rm := r.remote[pk]
	if rm == nil {
		rm = &remote{locals: make(map[string]struct{})}
		r.remote[pk] = rm
	}
	rm.inc = inc
	rm.locals[local] = struct{}{}
	if h.contacts == nil {
		h.contacts = make(map[string]struct{})
	}
	h.contacts[id] = struct{}{}
}

// Send implements routing.Router.
func (r *Router) Send(ctx context.Context, key, dst string, msg *routing.Message) error {
	subj := peerSubject(key, dst)
	r.mu.Lock()
	h := r.holders[subj]
	r.mu.Unlock()
	if h != nil {
		h.inbox.Deliver(msg)
		return nil
	}
	defer msg.Release()
	ctx, cancel := r.bound(ctx)
	defer cancel()
	hdr := nats.Header{}
	if msg.Src != "" {
		hdr.Set(hdrSrc, msg.Src)
	}
	if msg.Binary {
		hdr.Set(hdrBinary, "1")
	}
	hdr.Set(hdrOrigin, r.Incarnation())
	for attempt := 1; ; attempt++ {
		// One try waits a third of the timeout: a reply lost to a holder
		// that moved is retried while the claim lives.
		actx, acancel := context.WithTimeout(ctx, r.cfg.Timeout/3)
		reply, err := r.publish(actx, subj, msg.Data, hdr, true)
		acancel()
		switch {
		case err == nil:
			if reply.Header.Get(hdrStatus) != "ok" {
				return routing.ErrPeerUnavailable
			}
			r.m.RelaysOut.Inc()
			if msg.Src != "" {
				r.noteContact(key, msg.Src, dst, reply.Header.Get(hdrOrigin))
			}
			return nil
		case errors.Is(err, nats.ErrNoResponders):
			// A holder that subscribed a moment ago may not have its
			// interest known on this server yet: only a live claim is
			// worth another try.
			if attempt > 10 || !r.claimedLive(ctx, key, dst) {
				return routing.ErrPeerUnavailable
			}
			select {
			case <-ctx.Done():
				return routing.ErrPeerUnavailable
			case <-time.After(time.Duration(attempt) * 10 * time.Millisecond):
			}
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil && r.claimedLive(ctx, key, dst):
			continue
		default:
			return fmt.Errorf("cluster: sending to %q: %w", dst, err)
		}
	}
}

// publish sends data to subj, in chunks if it exceeds the connection's max
// payload; with request set it waits for the reply to the last chunk.
func (r *Router) publish(ctx context.Context, subj string, data []byte, hdr nats.Header, request bool) (*nats.Msg, error) {
	limit := int(r.nc.MaxPayload()) - 8<<10
	if len(data) <= limit {
		m := &nats.Msg{Subject: subj, Header: hdr, Data: data}
		if request {
			return r.nc.RequestMsgWithContext(ctx, m)
		}
		return nil, r.nc.PublishMsg(m)
	}
	id := r.Incarnation() + "-" + strconv.FormatUint(r.seq.Add(1), 36)
	n := (len(data) + limit - 1) / limit
	for i := range n {
		h := nats.Header{}
		for k, v := range hdr {
			h[k] = v
		}
		h.Set(hdrChunk, id+" "+strconv.Itoa(i)+" "+strconv.Itoa(n))
		m := &nats.Msg{Subject: subj, Header: h, Data: data[i*limit : min(len(data), (i+1)*limit)]}
		if i == n-1 && request {
			return r.nc.RequestMsgWithContext(ctx, m)
		}
		if err := r.nc.PublishMsg(m); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// claimedLive reports whether key/id is claimed by a live node.
func (r *Router) claimedLive(ctx context.Context, key, id string) bool {
	ok, err := r.Exists(ctx, key, id)
	return ok && err == nil
}

// Exists implements routing.Router.
func (r *Router) Exists(ctx context.Context, key, id string) (bool, error) {
	r.mu.Lock()
	h := r.holders[peerSubject(key, id)]
	r.mu.Unlock()
	if h != nil {
		return true, nil
	}
	ctx, cancel := r.bound(ctx)
	defer cancel()
	e, err := r.peers.Get(ctx, claimKey(key, id))
	switch {
	case notFound(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("cluster: looking up %q: %w", id, err)
	}
	var c claimValue
	if json.Unmarshal(e.Value(), &c) != nil {
		return false, nil
	}
	return r.isLive(c.Inc), nil
}

func (r *Router) isLive(inc string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.live[inc]
	return ok
}

// Peers implements routing.Router.
func (r *Router) Peers(ctx context.Context, key string) ([]string, error) {
	ctx, cancel := r.bound(ctx)
	defer cancel()
	entries, err := r.list(ctx, r.peers, "p."+token(key)+".*")
	if err != nil {
		return nil, fmt.Errorf("cluster: listing peers: %w", err)
	}
	ids := []string{}
	for _, e := range entries {
		var c claimValue
		if json.Unmarshal(e.Value(), &c) != nil || !r.isLive(c.Inc) {
			continue
		}
		if id, ok := untoken(e.Key()[len("p."+token(key)+"."):]); ok {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// list returns the current entries of a bucket whose keys match filter.
func (r *Router) list(ctx context.Context, kv jetstream.KeyValue, filter string) ([]jetstream.KeyValueEntry, error) {
	w, err := kv.Watch(ctx, filter, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, err
	}
	defer func() { _ = w.Stop() }()
	var out []jetstream.KeyValueEntry
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return out, errors.New("watch ended")
			}
			if e == nil {
				return out, nil
			}
			out = append(out, e)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// timedKV is a bucket whose operations are observed in the key-value
// latency histogram.
type timedKV struct {
	jetstream.KeyValue
	obs prometheus.Observer
}

func (t timedKV) since(start time.Time) { t.obs.Observe(time.Since(start).Seconds()) }

func (t timedKV) Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error) {
	defer t.since(time.Now())
	return t.KeyValue.Get(ctx, key)
}

func (t timedKV) Create(ctx context.Context, key string, value []byte, opts ...jetstream.KVCreateOpt) (uint64, error) {
	defer t.since(time.Now())
	return t.KeyValue.Create(ctx, key, value, opts...)
}

func (t timedKV) Update(ctx context.Context, key string, value []byte, last uint64) (uint64, error) {
	defer t.since(time.Now())
	return t.KeyValue.Update(ctx, key, value, last)
}

func (t timedKV) Put(ctx context.Context, key string, value []byte) (uint64, error) {
	defer t.since(time.Now())
	return t.KeyValue.Put(ctx, key, value)
}

func (t timedKV) Delete(ctx context.Context, key string, opts ...jetstream.KVDeleteOpt) error {
	defer t.since(time.Now())
	return t.KeyValue.Delete(ctx, key, opts...)
}
