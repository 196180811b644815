package signaling

import (
	"testing"

	"github.com/skywasm/skywasm/server/routing"
)

// A message can reach a peer between its end and the Router forgetting it;
// the peer must drop it, not remember its sender in a map it no longer has.
func TestDeliverAfterEnd(t *testing.T) {
	_, s := benchPeers(t, 2)
	p := s[0].p
	p.end(endGone)
	msg := routing.NewMessage(false)
	msg.Src = "b"
	msg.Retain()
	p.Deliver(msg) // must not panic
	msg.Release()  // the peer released its reference: this is the last one
	if got := p.contact([]byte("c")); got != "c" {
		t.Fatalf("contact after end = %q", got)
	}
}
