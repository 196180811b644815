package cluster

import (
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/skywasm/skywasm/server/routing"
)

// dispatch drains the channel every subscription feeds, in the order NATS
// delivered, so that what one node sent arrives in the order it was sent.
func (r *Router) dispatch() {
	defer r.wg.Done()
	var asm assembler
	for {
		select {
		case <-r.stop:
			return
		case m := <-r.ch:
			room := strings.HasPrefix(m.Subject, roomPrefix)
			if room && m.Header.Get(hdrOrigin) == r.Incarnation() {
				continue // delivered here when it was sent
			}
			if m.Header.Get(hdrChunk) != "" {
				if m = asm.add(m); m == nil {
					continue
				}
			}
			if room {
				r.onRoom(m)
			} else {
				r.onPeer(m)
			}
		}
	}
}

// onPeer handles a message to one peer held here: a delivery or an
// eviction.
func (r *Router) onPeer(m *nats.Msg) {
	origin := m.Header.Get(hdrOrigin)
	subj := m.Subject
	if strings.HasPrefix(subj, nodePrefix) {
		subj = m.Header.Get(hdrPeer) // an eviction
	}
	r.mu.Lock()
	h := r.holders[subj]
	inc := r.inc
	if h != nil && m.Header.Get(hdrOp) == "evict" {
		if origin == inc {
			h = nil // this node's own claim, not to evict
		} else {
			r.dropLocked(h)
		}
	}
	r.mu.Unlock()
	if m.Header.Get(hdrOp) == "evict" {
		if h != nil {
			_ = h.sub.Unsubscribe()
			r.forgetRooms(h)
			h.inbox.Evict(routing.Reclaimed)
		}
		r.reply(m, "ok", inc)
		return
	}
	if h == nil {
		r.reply(m, "gone", inc)
		return
	}
	msg := routing.NewMessage(m.Header.Get(hdrBinary) == "1")
	msg.Data = append(msg.Data, m.Data...)
	if src := m.Header.Get(hdrSrc); src != "" {
		msg.Src = src
		r.noteContact(h.key, h.id, src, origin)
	}
	r.m.RelaysIn.Inc()
	h.inbox.Deliver(msg)
	r.reply(m, "ok", inc)
}

func (r *Router) reply(m *nats.Msg, status, inc string) {
	if m.Reply == "" {
		return
	}
	out := nats.NewMsg(m.Reply)
	out.Header.Set(hdrStatus, status)
	out.Header.Set(hdrOrigin, inc)
	_ = r.nc.PublishMsg(out)
}

// forgetRooms drops a peer that moved to another node from the rooms it
// joined here: it lives on there.
func (r *Router) forgetRooms(h *holder) {
	r.mu.Lock()
	var rooms []*localRoom
	for _, lr := range r.local {
		if lr.key == h.key {
			if _, ok := lr.members[h.id]; ok {
				rooms = append(rooms, lr)
			}
		}
	}
	r.mu.Unlock()
	for _, lr := range rooms {
		r.leaveLocal(lr.key, lr.name, h.id)
	}
}

// onRoom hands a broadcast from another node to the members held here.
func (r *Router) onRoom(m *nats.Msg) {
	msg := routing.NewMessage(m.Header.Get(hdrBinary) == "1")
	msg.Data = append(msg.Data, m.Data...)
	r.m.RelaysIn.Inc()
	r.deliverRoom(m.Subject, m.Header.Get(hdrExcept), msg)
	msg.Release()
}

// assembler puts chunked messages back together. Chunks of one message
// come in order, since one connection published them to one subject; at
// most maxAssemblies are pending, the oldest dropped first.
type assembler struct {
	pending []*assembly
}

type assembly struct {
	id   string
	next int
	msg  *nats.Msg
}

const maxAssemblies = 8

// add takes one chunk and returns the whole message once its last chunk
// is in, else nil.
func (a *assembler) add(m *nats.Msg) *nats.Msg {
	f := strings.Fields(m.Header.Get(hdrChunk))
	if len(f) != 3 {
		return nil
	}
	i, err1 := strconv.Atoi(f[1])
	n, err2 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil || i < 0 || i >= n {
		return nil
	}
	var cur *assembly
	at := -1
	for j, p := range a.pending {
		if p.id == f[0] {
			cur, at = p, j
			break
		}
	}
	if cur == nil {
		if i != 0 {
			return nil // its start was dropped
		}
		if len(a.pending) == maxAssemblies {
			a.pending = a.pending[1:]
		}
		cur = &assembly{id: f[0], msg: &nats.Msg{Subject: m.Subject, Header: m.Header}}
		a.pending = append(a.pending, cur)
		at = len(a.pending) - 1
	}
	if i != cur.next {
		a.pending = append(a.pending[:at], a.pending[at+1:]...)
		return nil // a chunk went missing
	}
	cur.msg.Data = append(cur.msg.Data, m.Data...)
	cur.next++
	if cur.next < n {
		return nil
	}
	a.pending = append(a.pending[:at], a.pending[at+1:]...)
	cur.msg.Reply = m.Reply
	cur.msg.Sub = m.Sub
	return cur.msg
}
