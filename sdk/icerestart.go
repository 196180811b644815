package sdk

import (
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/protocol"
)

// ICE restarts: a connection whose ICE goes disconnected or failed does not
// close at once, as SkyWay's did. It reports reconnecting, and the side that
// made the first offer sends offers with new ICE credentials through the
// signaling server (a second OFFER of a known connectionId, the
// renegotiation path) until ICE is connected again — then it reports
// reconnected — or PeerOptions.ICERestartTimeout has passed, and the
// connection closes on both sides.
//
// Only the first offerer restarts: two sides offering at once would collide
// (glare), and the answering side gains nothing by offering itself, since
// the offerer sees the same outage. The answering side keeps its own
// deadline, so that it closes even if the offerer is gone.
//
// An SFU room's link keeps SkyWay's behaviour: the SFU makes every offer of
// that link, and it restarts nothing.

// restartRetry is how often the offerer offers again while ICE has not
// recovered: an offer made while the path was down may have been checked
// against a network that has changed again since.
const restartRetry = 2 * time.Second

// recovery is the state of one ICE outage. Guarded by conn.mu.
type recovery struct {
	deadline *time.Timer // closes the connection
	retry    *time.Timer // the offerer's next restart, nil for the answerer
}

// restarts reports whether the connection recovers from ICE failures
// rather than closing.
func (c *conn) restarts() bool {
	return !c.peer.opts.NoICERestart && c.signal == nil
}

// iceStateChanged reacts to the ICE connection state. It runs in pion's
// callback: it never blocks, and what takes time goes to the connection's
// queues.
func (c *conn) iceStateChanged(s webrtc.ICEConnectionState) {
	switch s {
	case webrtc.ICEConnectionStateDisconnected, webrtc.ICEConnectionStateFailed:
		if c.restarts() {
			c.iceLost()
			return
		}
		if s == webrtc.ICEConnectionStateFailed || c.signal == nil {
			// SkyWay's negotiator closed on both; the SFU link, on
			// failed only. Never close a PeerConnection inside its own
			// callback.
			go c.shutdown(false, "ICE "+s.String())
		}
	case webrtc.ICEConnectionStateConnected, webrtc.ICEConnectionStateCompleted:
		c.iceRecovered()
	}
}

// iceLost starts a recovery, unless one is under way.
func (c *conn) iceLost() {
	c.mu.Lock()
	if c.closed || c.recovery != nil {
		c.mu.Unlock()
		return
	}
	timeout := c.peer.opts.ICERestartTimeout
	r := &recovery{deadline: time.AfterFunc(timeout, func() {
		c.shutdown(true, "ICE did not recover within "+timeout.String())
	})}
	c.recovery = r
	if c.offerer {
		r.retry = time.AfterFunc(0, func() { c.restartICE(r) })
	}
	c.mu.Unlock()
	c.peer.opts.Logger.Debug("ICE lost: recovering", "connectionId", c.id, "offerer", c.offerer)
	emit(c.events, &c.onReconnecting, struct{}{})
}

// restartICE queues an offer with new ICE credentials, and the next try,
// while the recovery r is the current one.
func (c *conn) restartICE(r *recovery) {
	c.mu.Lock()
	if c.closed || c.recovery != r {
		c.mu.Unlock()
		return
	}
	r.retry = time.AfterFunc(restartRetry, func() { c.restartICE(r) })
	c.mu.Unlock()
	c.ops.Push(func() {
		c.mu.Lock()
		pc, current := c.pc, c.recovery == r && !c.closed
		c.mu.Unlock()
		if !current || pc == nil {
			return
		}
		if st := pc.SignalingState(); st != webrtc.SignalingStateStable {
			// An offer is waiting for its answer: the next try will do.
			c.peer.opts.Logger.Debug("ICE restart deferred", "connectionId", c.id, "signalingState", st)
			return
		}
		c.peer.opts.Logger.Debug("restarting ICE", "connectionId", c.id)
		var payload protocol.RelayPayload
		if c.typ == protocol.Media {
			payload.Metadata = c.metadata
		}
		if err := c.offerWith(pc, payload, true); err != nil {
			c.fail(err, false)
		}
	})
}

// iceRecovered ends a recovery, if one is under way.
func (c *conn) iceRecovered() {
	c.mu.Lock()
	was := c.recovery != nil && !c.closed
	c.endRecovery()
	c.mu.Unlock()
	if was {
		c.peer.opts.Logger.Debug("ICE recovered", "connectionId", c.id)
		emit(c.events, &c.onReconnected, struct{}{})
	}
}

// endRecovery stops the recovery's timers. c.mu is held.
func (c *conn) endRecovery() {
	if r := c.recovery; r != nil {
		r.deadline.Stop()
		if r.retry != nil {
			r.retry.Stop()
		}
		c.recovery = nil
	}
}
