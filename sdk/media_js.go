//go:build js && wasm

package sdk

import (
	"context"
	"strings"

	"github.com/hack-pad/safejs"
	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/internal/jsutil"
)

var kinds = [...]string{"audio", "video"}

// rtc is the page's RTCPeerConnection behind pc.
func rtc(pc *webrtc.PeerConnection) safejs.Value { return safejs.Safe(pc.JSValue()) }

// attachStream adds a page stream's tracks to the page's RTCPeerConnection;
// an offer also gets a receive-only transceiver for each kind it receives
// but does not send.
func attachStream(pc *webrtc.PeerConnection, s *MediaStream, d directions) error {
	tracks, err := s.tracks()
	if err != nil {
		return err
	}
	var b jsutil.Batch
	r := rtc(pc)
	has := map[string]bool{}
	for _, t := range tracks {
		has[t.kind] = true
		if d.receives(t.kind) {
			// addTrack makes a sendrecv transceiver: what an offer wants
			// here, without an init dictionary to build from Go.
			b.Call(r, "addTrack", t.v, s.v)
			continue
		}
		b.Call(r, "addTransceiver", t.v, map[string]any{"direction": "sendonly", "streams": []any{s.v}})
	}
	if d.offering {
		for _, kind := range kinds {
			if !has[kind] && d.receives(kind) {
				b.Call(r, "addTransceiver", kind, map[string]any{"direction": "recvonly"})
			}
		}
	}
	return webrtcError("failed to attach the stream", b.Err())
}

// watchRemoteStreams reports the stream of each track event; the browser
// adds a stream's later tracks to the same MediaStream object.
func (m *MediaConnection) watchRemoteStreams(pc *webrtc.PeerConnection) (stop func()) {
	return listen(rtc(pc), "track", func(ev safejs.Value) error {
		var b jsutil.Batch
		streams := b.Get(ev, "streams")
		var stream safejs.Value
		if b.Length(streams) > 0 {
			stream = b.Index(streams, 0)
		} else {
			stream = b.New(b.Global("MediaStream"), []any{b.Get(ev, "track")})
		}
		if err := b.Err(); err != nil {
			return webrtcError("failed to read a track event", err)
		}
		m.remoteStream(streamFromSafe(stream))
		return nil
	}, func(err error) { m.fail(err, false) })
}

// listen adds f as the listener of the event name of target, and returns
// what removes and releases it. An error of f, or of adding the listener,
// goes to fail.
func listen(target safejs.Value, name string, f func(ev safejs.Value) error, fail func(error)) (stop func()) {
	listener, err := jsutil.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		ev := safejs.Undefined()
		if len(args) > 0 {
			ev = args[0]
		}
		if err := f(ev); err != nil {
			// Off the event loop: fail queues, but may log.
			go fail(err)
		}
		return nil
	})
	if err != nil {
		fail(webrtcError("failed to listen to "+name, err))
		return func() {}
	}
	if _, err := jsutil.CallMethod(target, "addEventListener", name, listener); err != nil {
		listener.Release()
		fail(webrtcError("failed to listen to "+name, err))
		return func() {}
	}
	return func() {
		_, _ = jsutil.CallMethod(target, "removeEventListener", name, listener) // a closed target may refuse; the listener goes anyway
		listener.Release()
	}
}

// replaceStream puts s's tracks on the page's senders, and says whether a
// kind was added or removed, which needs a new offer.
func replaceStream(ctx context.Context, pc *webrtc.PeerConnection, s *MediaStream) (renegotiate bool, err error) {
	tracks, err := s.tracks()
	if err != nil {
		return false, err
	}
	r := rtc(pc)
	for _, kind := range kinds {
		var b jsutil.Batch
		var sender, track safejs.Value
		found := false
		senders := b.Call(r, "getSenders")
		for i := range b.Length(senders) {
			t := b.Get(b.Index(senders, i), "track")
			if b.Err() == nil && !t.IsNull() && b.String(b.Get(t, "kind")) == kind {
				sender, found = b.Index(senders, i), true
				break
			}
		}
		hasTrack := false
		for _, t := range tracks {
			if t.kind == kind {
				track, hasTrack = t.v, true
				break
			}
		}
		if err := b.Err(); err != nil {
			return false, webrtcError("failed to read the senders", err)
		}
		switch {
		case found && hasTrack:
			_, err = jsutil.Call(ctx, sender, "replaceTrack", track)
		case found:
			b.Call(r, "removeTrack", sender)
			err, renegotiate = b.Err(), true
		case hasTrack:
			b.Call(r, "addTrack", track, s.v)
			err, renegotiate = b.Err(), true
		}
		if err != nil {
			return false, webrtcError("failed to replace the "+kind+" track", err)
		}
	}
	return renegotiate, nil
}

// codecSupported asks the browser whether it can send codec.
func codecSupported(kind, codec string) bool {
	var b jsutil.Batch
	caps := b.Call(b.Global("RTCRtpSender"), "getCapabilities", kind)
	if !b.Truthy(caps) {
		return false
	}
	codecs := b.Get(caps, "codecs")
	for i := range b.Length(codecs) {
		if strings.EqualFold(b.String(b.Get(b.Index(codecs, i), "mimeType")), kind+"/"+codec) {
			return b.Err() == nil
		}
	}
	return false
}

// preferCodec keeps only codec (and retransmission) on the page's
// transceivers of kind, with setCodecPreferences.
func preferCodec(pc *webrtc.PeerConnection, kind, codec string) error {
	if codec == "" {
		return nil
	}
	var b jsutil.Batch
	caps := b.Get(b.Call(b.Global("RTCRtpReceiver"), "getCapabilities", kind), "codecs")
	var keep []any
	for i := range b.Length(caps) {
		c := b.Index(caps, i)
		mime := b.String(b.Get(c, "mimeType"))
		if strings.EqualFold(mime, kind+"/"+codec) || strings.EqualFold(mime, kind+"/rtx") {
			keep = append(keep, c)
		}
	}
	trs := b.Call(rtc(pc), "getTransceivers")
	for i := range b.Length(trs) {
		tr := b.Index(trs, i)
		if b.String(b.Get(b.Get(b.Get(tr, "receiver"), "track"), "kind")) == kind {
			b.Call(tr, "setCodecPreferences", keep)
		}
	}
	return webrtcError("failed to choose the "+kind+" codec", b.Err())
}
