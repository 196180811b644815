package sdk

import (
	"encoding/json"
	"fmt"

	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/protocol"
)

// CallOptions are the options of Peer.Call, SkyWay's call options.
type CallOptions struct {
	// ConnectionID is the connection's ID; "" means "mc_" and a random one.
	ConnectionID string
	// Metadata travels with the offer, as JSON; the far side reads it from
	// MediaConnection.Metadata.
	Metadata any
	// VideoBandwidth and AudioBandwidth cap what this side sends, in
	// kbit/s; 0 means no cap.
	VideoBandwidth, AudioBandwidth int
	// VideoCodec and AudioCodec keep only that codec ("VP8", "VP9", "H264",
	// "AV1", "opus", …); one this build or the far side lacks is an error.
	VideoCodec, AudioCodec string
	// NoVideoReceive and NoAudioReceive turn off receiving that kind
	// (SkyWay's videoReceiveEnabled and audioReceiveEnabled set to false).
	NoVideoReceive, NoAudioReceive bool
}

// AnswerOptions are the options of MediaConnection.Answer.
type AnswerOptions struct {
	VideoBandwidth, AudioBandwidth int
	VideoCodec, AudioCodec         string
}

// mediaOptions are what calls and answers share.
type mediaOptions struct {
	videoBandwidth, audioBandwidth int
	videoCodec, audioCodec         string
}

func (o mediaOptions) check() error {
	for _, c := range [...]struct{ kind, codec string }{{"video", o.videoCodec}, {"audio", o.audioCodec}} {
		if c.codec != "" && !codecSupported(c.kind, c.codec) {
			return fmt.Errorf("%w: %s codec %q", ErrUnsupportedCodec, c.kind, c.codec)
		}
	}
	return nil
}

// prefer sets the codec choice on pc's transceivers before an offer: the
// local description itself may not be edited (browsers and pion refuse).
func (o mediaOptions) prefer(pc *webrtc.PeerConnection) error {
	if err := preferCodec(pc, "video", o.videoCodec); err != nil {
		return err
	}
	return preferCodec(pc, "audio", o.audioCodec)
}

// mungeRemote applies the codec choice and the bandwidth caps to a remote
// description; a remote description may be edited. On an offer the
// choice shapes the answer; on an answer it checks that the far side
// accepted the codec.
func (o mediaOptions) mungeRemote(sdp string) (string, error) {
	sdp, err := keepCodec(sdp, "video", o.videoCodec)
	if err == nil {
		sdp, err = keepCodec(sdp, "audio", o.audioCodec)
	}
	if err != nil {
		return "", err
	}
	if sdp, err = limitBandwidth(sdp, "video", o.videoBandwidth); err != nil {
		return "", err
	}
	return limitBandwidth(sdp, "audio", o.audioBandwidth)
}

// directions says how to attach a local stream.
type directions struct {
	offering                 bool
	noVideoRecv, noAudioRecv bool
}

func (d directions) receives(kind string) bool {
	return !(kind == "video" && d.noVideoRecv || kind == "audio" && d.noAudioRecv)
}

// MediaConnection is a call: SkyWay's MediaConnection.
type MediaConnection struct {
	conn
	onStream handler[*MediaStream]
	opts     mediaOptions

	// Guarded by conn.mu.
	local        *MediaStream
	pendingOffer string
	answered     bool
	seen         map[string]bool
}

// OnStream sets the handler of the stream event: a remote stream arrived.
// It fires once per stream.
func (m *MediaConnection) OnStream(f func(*MediaStream)) { m.onStream.set(f) }

// LocalStream is the stream this side sends, nil if none.
func (m *MediaConnection) LocalStream() *MediaStream {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.local
}

// Close ends the call on both sides: the far side is told through the
// server, so its close event fires at once. force is SkyWay's forceClose,
// kept for compatibility; skywasm always tells the far side, because a far
// side that learns of the end only when ICE times out was the bug users of
// SkyWay and PeerJS reported most.
func (m *MediaConnection) Close(force bool) { m.shutdown(true, "closed") }

// Call calls remoteID, sending stream (nil: receive only).
func (p *Peer) Call(remoteID string, stream *MediaStream, opts *CallOptions) (*MediaConnection, error) {
	return p.call(remoteID, stream, opts, nil)
}

// call places a call; a mesh room's calls belong to room, and the room
// sets their handlers before anything can fire.
func (p *Peer) call(remoteID string, stream *MediaStream, opts *CallOptions, room *MeshRoom) (*MediaConnection, error) {
	if opts == nil {
		opts = &CallOptions{}
	}
	mo := mediaOptions{opts.VideoBandwidth, opts.AudioBandwidth, opts.VideoCodec, opts.AudioCodec}
	id, metadata, err := p.newConnectionArgs(remoteID, opts.ConnectionID, "mc_", opts.Metadata)
	if err == nil {
		err = mo.check()
	}
	if err != nil {
		return nil, err
	}
	m := &MediaConnection{opts: mo, local: stream, answered: true}
	m.init(p, id, remoteID, protocol.Media, metadata, false)
	m.offerer = true
	m.mungeRemote = mo.mungeRemote
	if room == nil && p.unreachable(remoteID) {
		return m, nil
	}
	if room != nil {
		room.adopt(m)
	}
	p.register(m)
	d := directions{offering: true, noVideoRecv: opts.NoVideoReceive, noAudioRecv: opts.NoAudioReceive}
	m.ops.Push(func() {
		pc, err := m.newPeerConnection()
		if err == nil {
			m.addRelease(m.watchRemoteStreams(pc))
			err = attachStream(pc, stream, d)
		}
		if err == nil {
			err = mo.prefer(pc)
		}
		if err == nil {
			err = m.offer(pc, protocol.RelayPayload{Metadata: metadata})
		}
		if err != nil {
			m.fail(err, true)
		}
	})
	return m, nil
}

// unreachable reports whether remoteID is one no peer can have, and then
// emits SkyWay's peer-unavailable on the Peer. SkyWay returned a connection
// for any ID and learned from the server that nobody had it: here the
// connection is returned too, never negotiates, and stays until closed.
func (p *Peer) unreachable(remoteID string) bool {
	if protocol.ValidPeerID(remoteID) {
		return false
	}
	p.emitError(newError(protocol.ErrPeerUnavailable, fmt.Sprintf("peer %q is not available: no peer can have that ID", remoteID), nil))
	return true
}

// newConnectionArgs checks what Call and Connect share and returns the
// connection ID and the metadata as JSON.
func (p *Peer) newConnectionArgs(remoteID, id, prefix string, metadata any) (string, json.RawMessage, error) {
	if err := p.checkOpen(); err != nil {
		return "", nil, err
	}
	if id == "" {
		id = prefix + protocol.RandomID(16)
	} else if !protocol.ValidConnectionID(id) {
		return "", nil, fmt.Errorf("sdk: connection ID %q is not 1-64 characters of [A-Za-z0-9_-]", id)
	}
	if p.GetConnection(remoteID, id) != nil {
		return "", nil, fmt.Errorf("sdk: a connection %q with %s exists", id, remoteID)
	}
	var raw json.RawMessage
	if metadata != nil {
		b, err := marshalUserJSON(metadata)
		if err != nil {
			return "", nil, fmt.Errorf("sdk: metadata: %w", err)
		}
		raw = b
	}
	return id, raw, nil
}

func (p *Peer) incomingCall(r *protocol.RelayPayload) {
	m := &MediaConnection{pendingOffer: r.Offer.SDP}
	m.init(p, r.ConnectionID, r.Src, protocol.Media, r.Metadata, true)
	p.register(m)
	deliverIncoming(p, &p.onCall, m, m.events)
}

// Answer accepts an incoming call, sending stream (nil: receive only). A
// second Answer does nothing, as in SkyWay.
func (m *MediaConnection) Answer(stream *MediaStream, opts *AnswerOptions) error {
	if opts == nil {
		opts = &AnswerOptions{}
	}
	mo := mediaOptions{opts.VideoBandwidth, opts.AudioBandwidth, opts.VideoCodec, opts.AudioCodec}
	if err := mo.check(); err != nil {
		return err
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	if m.answered {
		m.mu.Unlock()
		m.peer.opts.Logger.Warn("a call can be answered only once", "connectionId", m.id)
		return nil
	}
	m.answered, m.local, m.opts = true, stream, mo
	offer := m.pendingOffer
	m.pendingOffer = ""
	m.mungeRemote = mo.mungeRemote
	m.mu.Unlock()
	m.ops.Push(func() {
		pc, err := m.newPeerConnection()
		if err == nil {
			m.addRelease(m.watchRemoteStreams(pc))
			err = m.answer(offer, func(pc *webrtc.PeerConnection) error {
				return attachStream(pc, stream, directions{})
			})
		}
		if err != nil {
			m.fail(err, true)
		}
	})
	return nil
}

// handleOffer takes a re-offer: the far side changed what it sends.
func (m *MediaConnection) handleOffer(r *protocol.RelayPayload) {
	if r.Offer == nil {
		return
	}
	m.mu.Lock()
	if !m.answered {
		m.pendingOffer = r.Offer.SDP // not answered yet: answer the latest
		m.mu.Unlock()
		return
	}
	m.mu.Unlock()
	m.ops.Push(func() {
		if err := m.answer(r.Offer.SDP, nil); err != nil {
			m.fail(err, false)
		}
	})
}

// ReplaceStream sends stream instead of the current one: tracks of a kind
// both have are replaced in place; adding or removing a kind renegotiates
// on the same connection.
func (m *MediaConnection) ReplaceStream(stream *MediaStream) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	m.local = stream
	m.mu.Unlock()
	m.ops.Push(func() {
		pc := m.PeerConnection()
		if pc == nil {
			return // not answered yet: Answer's stream is what will be sent
		}
		renegotiate, err := replaceStream(m.context(), pc, stream)
		if err == nil && renegotiate {
			err = m.opts.prefer(pc)
		}
		if err == nil && renegotiate {
			err = m.offer(pc, protocol.RelayPayload{Metadata: m.metadata})
		}
		if err != nil {
			m.fail(fmt.Errorf("failed to replace the stream: %w", err), false)
		}
	})
	return nil
}

// remoteStream reports a remote stream, once per stream ID.
func (m *MediaConnection) remoteStream(s *MediaStream) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen == nil {
		m.seen = map[string]bool{}
	}
	if !m.seen[s.ID()] && !m.closed { // queued under the lock: never after close
		m.seen[s.ID()] = true
		m.events.Push(func() {
			if m.room != nil {
				m.room.stream(s)
			}
			if f := m.onStream.get(); f != nil {
				f(s)
			}
		})
	}
}
