//go:build js && wasm

package sdk

import (
	"context"
	"strings"
	"syscall/js"

	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/internal/jsutil"
)

var kinds = [...]string{"audio", "video"}

// attachStream adds a page stream's tracks to the page's RTCPeerConnection;
// an offer also gets a receive-only transceiver for each kind it receives
// but does not send.
func attachStream(pc *webrtc.PeerConnection, s *MediaStream, d directions) error {
	return jsutil.Try(func() {
		rtc := pc.JSValue()
		for _, t := range s.tracks() {
			if !d.offering {
				rtc.Call("addTrack", t, s.v)
				continue
			}
			dir := "sendrecv"
			if !d.receives(t.Get("kind").String()) {
				dir = "sendonly"
			}
			rtc.Call("addTransceiver", t, map[string]any{"direction": dir, "streams": []any{s.v}})
		}
		if d.offering {
			for _, kind := range kinds {
				if (s == nil || !s.hasKind(kind)) && d.receives(kind) {
					rtc.Call("addTransceiver", kind, map[string]any{"direction": "recvonly"})
				}
			}
		}
	})
}

// watchRemoteStreams reports the stream of each track event; the browser
// adds a stream's later tracks to the same MediaStream object.
func (m *MediaConnection) watchRemoteStreams(pc *webrtc.PeerConnection) (stop func()) {
	rtc := pc.JSValue()
	listener := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ev := args[0]
		streams := ev.Get("streams")
		var stream js.Value
		if streams.Length() > 0 {
			stream = streams.Index(0)
		} else {
			stream = js.Global().Get("MediaStream").New([]any{ev.Get("track")})
		}
		m.remoteStream(StreamFromJS(stream))
		return nil
	})
	rtc.Call("addEventListener", "track", listener)
	return func() {
		rtc.Call("removeEventListener", "track", listener)
		listener.Release()
	}
}

// replaceStream puts s's tracks on the page's senders, and says whether a
// kind was added or removed, which needs a new offer.
func replaceStream(ctx context.Context, pc *webrtc.PeerConnection, s *MediaStream) (renegotiate bool, err error) {
	rtc := pc.JSValue()
	for _, kind := range kinds {
		var sender, track js.Value
		err = jsutil.Try(func() {
			senders := rtc.Call("getSenders")
			for i := range senders.Length() {
				t := senders.Index(i).Get("track")
				if !t.IsNull() && t.Get("kind").String() == kind {
					sender = senders.Index(i)
					break
				}
			}
			for _, t := range s.tracks() {
				if t.Get("kind").String() == kind {
					track = t
					break
				}
			}
		})
		if err != nil {
			return false, err
		}
		switch {
		case sender.Truthy() && track.Truthy():
			_, err = jsutil.Await(ctx, sender.Call("replaceTrack", track))
		case sender.Truthy():
			err, renegotiate = jsutil.Try(func() { rtc.Call("removeTrack", sender) }), true
		case track.Truthy():
			err, renegotiate = jsutil.Try(func() { rtc.Call("addTrack", track, s.v) }), true
		}
		if err != nil {
			return false, err
		}
	}
	return renegotiate, nil
}

// codecSupported asks the browser whether it can send codec.
func codecSupported(kind, codec string) bool {
	caps := js.Global().Get("RTCRtpSender").Call("getCapabilities", kind)
	if !caps.Truthy() {
		return false
	}
	codecs := caps.Get("codecs")
	for i := range codecs.Length() {
		if strings.EqualFold(codecs.Index(i).Get("mimeType").String(), kind+"/"+codec) {
			return true
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
	return jsutil.Try(func() {
		caps := js.Global().Get("RTCRtpReceiver").Call("getCapabilities", kind).Get("codecs")
		var keep []any
		for i := range caps.Length() {
			mime := caps.Index(i).Get("mimeType").String()
			if strings.EqualFold(mime, kind+"/"+codec) || strings.EqualFold(mime, kind+"/rtx") {
				keep = append(keep, caps.Index(i))
			}
		}
		trs := pc.JSValue().Call("getTransceivers")
		for i := range trs.Length() {
			tr := trs.Index(i)
			if tr.Get("receiver").Get("track").Get("kind").String() == kind {
				tr.Call("setCodecPreferences", keep)
			}
		}
	})
}
