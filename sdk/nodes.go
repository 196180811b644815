package sdk

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/skywasm/skywasm/internal/minjson"
)

// This file is how a Peer picks the server it connects to. A skywasm
// cluster answers GET /v1/dispatch?key=… on every node with the live
// nodes' public URLs, least loaded first, as SkyWay's dispatcher did; a
// single server answers an empty list (a server older than the dispatcher,
// 404), which means "connect to me". The Peer
// asks before its first connection and again before every reconnection,
// so that a Peer whose node died moves to a live one and reclaims its ID
// there with its token.

// dispatchPath is where a skywasm node answers which nodes to connect to.
const dispatchPath = "/v1/dispatch"

// Limits on the dispatcher's answer, which comes from the network.
const (
	// maxDispatchBody bounds the answer's size: a node is a name, a URL
	// and a number.
	maxDispatchBody = 64 << 10
	// maxDispatchNodes bounds the nodes kept from one answer; past the
	// first few, more are no better choices.
	maxDispatchNodes = 64
	// maxNodeURL bounds one node's URL.
	maxNodeURL = 2048
	// dispatchTimeout bounds one question to one node: a node that does
	// not answer within it is taken for dead and the next one is asked.
	dispatchTimeout = 3 * time.Second
)

// ErrDispatch is wrapped by the errors of an unusable answer from a
// dispatcher: malformed, too large, or naming a node the Peer must not
// dial. The Peer then asks another node, or connects to its configured
// server.
var ErrDispatch = errors.New("sdk: unusable dispatcher answer")

// parseDispatch reads the dispatcher's answer, {"nodes": [{"url": …}, …]},
// keeping the nodes' base URLs in its order. secure refuses plain http
// nodes: a Peer configured for TLS never sends its token in the clear.
func parseDispatch(body []byte, secure bool) ([]*url.URL, error) {
	if len(body) > maxDispatchBody {
		return nil, fmt.Errorf("%w: %d bytes is over %d", ErrDispatch, len(body), maxDispatchBody)
	}
	var answer struct {
		Nodes []struct {
			URL string `json:"url"`
		} `json:"nodes"`
	}
	if err := minjson.Unmarshal(body, &answer); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDispatch, err)
	}
	if answer.Nodes == nil {
		return nil, fmt.Errorf("%w: no nodes list", ErrDispatch)
	}
	var nodes []*url.URL
	for i, n := range answer.Nodes {
		if len(nodes) == maxDispatchNodes {
			break
		}
		if len(n.URL) > maxNodeURL {
			return nil, fmt.Errorf("%w: node %d's URL is over %d bytes", ErrDispatch, i, maxNodeURL)
		}
		u, err := parseServerURL(n.URL)
		if err != nil {
			return nil, fmt.Errorf("%w: node %d: %v", ErrDispatch, i, err)
		}
		if secure && u.Scheme != "https" {
			return nil, fmt.Errorf("%w: node %d (%s) is not https, and the Peer's server is", ErrDispatch, i, u)
		}
		nodes = append(nodes, u)
	}
	return nodes, nil
}

// nodes is what the Peer knows of its cluster. Only run's goroutine uses
// it.
type nodes struct {
	// list is the dispatcher's last answer, least loaded first; empty for
	// a single server.
	list []*url.URL
	// failed holds the nodes that could not be dialled since the last
	// open: skipped while another node is left to try.
	failed map[string]bool
}

// pickNode chooses the server of the next connection attempt: the
// configured one, or a node of the cluster. It stays on the current node
// while the dispatcher lists it and it has not failed, since a move costs
// the node's state of this peer (its SFU link, for one); else it takes the
// least loaded node not known to have failed.
func (p *Peer) pickNode(ctx context.Context) *url.URL {
	if p.opts.NoDispatch {
		return p.base
	}
	cur := p.serverURL()
	if list, ok := p.askDispatcher(ctx, cur); ok {
		p.nodes.list = list
	}
	list := p.nodes.list
	if len(list) == 0 {
		return p.base
	}
	if p.nodes.failed == nil {
		p.nodes.failed = map[string]bool{}
	}
	for _, n := range list {
		if n.String() == cur.String() && !p.nodes.failed[n.String()] {
			return n
		}
	}
	for _, n := range list {
		if !p.nodes.failed[n.String()] {
			return n
		}
	}
	clear(p.nodes.failed) // every node failed: a new round
	return list[0]
}

// untried reports whether a node of the list has not failed yet: after a
// failed dial, the next attempt goes there at once rather than after the
// back-off.
func (n *nodes) untried() bool {
	for _, u := range n.list {
		if !n.failed[u.String()] {
			return true
		}
	}
	return false
}

// dialFailed notes that u could not be dialled.
func (n *nodes) dialFailed(u *url.URL) {
	if len(n.list) == 0 {
		return
	}
	if n.failed == nil {
		n.failed = map[string]bool{}
	}
	n.failed[u.String()] = true
}

// opened forgets the failures: the cluster is reachable again.
func (n *nodes) opened() { clear(n.failed) }

// askDispatcher asks the nodes it knows, one after another, which nodes to
// connect to, and reports the answer: a list of nodes, or none for a
// single server. ok is false when no node gave a usable answer: the
// old list stands. The first connection asks the configured server; a
// reconnection asks the other nodes first, since its own may be the one
// that died, then the configured server, then its own.
func (p *Peer) askDispatcher(ctx context.Context, cur *url.URL) (list []*url.URL, ok bool) {
	var ask []*url.URL
	seen := map[string]bool{}
	add := func(u *url.URL) {
		if u != nil && !seen[u.String()] && !p.nodes.failed[u.String()] {
			seen[u.String()] = true
			ask = append(ask, u)
		}
	}
	if cur == p.base {
		add(p.base)
	}
	for _, n := range p.nodes.list {
		if n.String() != cur.String() {
			add(n)
		}
	}
	add(p.base)
	add(cur)
	if len(ask) == 0 {
		add(p.base) // every node failed: the configured server at least
	}
	for _, u := range ask {
		list, single, err := p.dispatchFrom(ctx, u)
		switch {
		case err == nil:
			return list, true
		case single:
			return nil, true
		case ctx.Err() != nil:
			return nil, false
		}
		p.opts.Logger.Debug("no dispatcher answer", "node", u.String(), "err", err)
	}
	return nil, false
}

// dispatchFrom asks node u which nodes to connect to. single reports an
// empty list or a 404: u is a server of its own, not a cluster node (or,
// for a 404, does not know the key, which its signaling will say better).
func (p *Peer) dispatchFrom(ctx context.Context, u *url.URL) (list []*url.URL, single bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, dispatchTimeout)
	defer cancel()
	q := *u
	q.Path = dispatchPath
	q.RawQuery = url.Values{"key": {p.opts.Key}}.Encode()
	status, body, err := p.get(ctx, q.String())
	switch {
	case err != nil:
		return nil, false, err
	case status == 404:
		return nil, true, nil
	case status != 200:
		return nil, false, fmt.Errorf("%w: HTTP status %d", ErrDispatch, status)
	}
	list, err = parseDispatch(body, p.base.Scheme == "https")
	if err != nil {
		return nil, false, err
	}
	if len(list) == 0 {
		// A single server, or a cluster whose nodes have no public
		// URL: the configured server is the way in.
		return nil, true, nil
	}
	return list, false, nil
}

// serverURL is the server the Peer is connected to, or will dial next.
func (p *Peer) serverURL() *url.URL {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.node
}

// ServerURL is the base URL of the server the Peer's signaling socket is
// connected to, or dials next: the configured one, or with a cluster the
// node the dispatcher gave. It changes when the Peer moves to another node.
func (p *Peer) ServerURL() string {
	return p.serverURL().String()
}
