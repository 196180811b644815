//go:build js && wasm

package main

import (
	"fmt"
	"syscall/js"

	"github.com/skywasm/skywasm/internal/jsutil"
	"github.com/skywasm/skywasm/sdk"
)

var connMethods = map[string]method{
	"connOpen":       func(_ *bridge, o *object, _ js.Value, _ []js.Value) any { return o != nil && o.conn().Open() },
	"peerConnection": callPeerConnection,
	"close":          callClose,
	"answer":         callAnswer,
	"replaceStream":  callReplaceStream,
	"localStream":    callLocalStream,
	"send":           callSend,
}

// adopt gives an SDK connection its JavaScript object and routes its events
// there. The object leaves the table after its close event.
func (b *bridge) adopt(c sdk.Connection) *object {
	o := &object{}
	props := map[string]any{
		"id":       c.ID(),
		"type":     string(c.Type()),
		"remoteId": c.RemoteID(),
		"metadata": metadataValue(c.Metadata()),
	}
	switch c := c.(type) {
	case *sdk.MediaConnection:
		o.media = c
	case *sdk.DataConnection:
		o.data = c
		o.sends = &sendQueue{}
		props["label"] = c.Label()
		props["serialization"] = c.Serialization()
		props["dcInit"] = dcInitValue(c.DCInit())
	}
	b.add(o)
	o.self = b.makeFn.Invoke(string(c.Type()), o.handle, props)
	self := o.self
	if o.media != nil {
		o.media.OnStream(func(s *sdk.MediaStream) { b.emit(self, "stream", s.JSValue()) })
		o.media.OnError(func(err error) { b.emitError(self, err) })
		o.media.OnClose(func() {
			b.emit(self, "close")
			b.remove(o)
		})
	} else {
		o.data.OnOpen(func() { b.emit(self, "open") })
		o.data.OnData(func(v any) { b.emit(self, "data", toJS(v)) })
		o.data.OnError(func(err error) { b.emitError(self, err) })
		o.data.OnClose(func() {
			b.emit(self, "close")
			b.remove(o)
		})
	}
	return o
}

// metadataValue turns the JSON metadata of an offer into a JavaScript value,
// undefined if there was none. Metadata the page cannot parse arrives as the
// string it is.
func metadataValue(raw []byte) any {
	if raw == nil {
		return js.Undefined()
	}
	var v js.Value
	if err := jsutil.Try(func() { v = js.Global().Get("JSON").Call("parse", string(raw)) }); err != nil {
		return string(raw)
	}
	return v
}

func dcInitValue(d *sdk.DataChannelInit) any {
	out := map[string]any{}
	if d == nil {
		return out
	}
	if d.Ordered != nil {
		out["ordered"] = *d.Ordered
	}
	if d.MaxPacketLifeTime != nil {
		out["maxPacketLifeTime"] = int(*d.MaxPacketLifeTime)
	}
	if d.MaxRetransmits != nil {
		out["maxRetransmits"] = int(*d.MaxRetransmits)
	}
	return out
}

// callPeerConnection is getPeerConnection(): the page's RTCPeerConnection.
func callPeerConnection(_ *bridge, o *object, _ js.Value, _ []js.Value) any {
	if o == nil {
		return js.Null()
	}
	pc := o.conn().PeerConnection()
	if pc == nil {
		return js.Null()
	}
	return pc.JSValue()
}

// callClose is close(forceClose). Closing may wait on the browser, so it
// runs in a goroutine; the close event follows.
func callClose(b *bridge, o *object, self js.Value, args []js.Value) any {
	if o == nil {
		return js.Undefined()
	}
	force := arg(args, 0).Truthy()
	b.goSafe(self, "close", func() { o.conn().Close(force) }, nil)
	return js.Undefined()
}

// callAnswer is mediaConnection.answer(stream, options).
func callAnswer(b *bridge, o *object, self js.Value, args []js.Value) any {
	if o == nil || o.media == nil {
		b.emitError(self, sdk.ErrClosed)
		return js.Undefined()
	}
	v := arg(args, 1)
	opts := &sdk.AnswerOptions{
		VideoBandwidth: int(numberOr(field(v, "videoBandwidth"), 0)),
		AudioBandwidth: int(numberOr(field(v, "audioBandwidth"), 0)),
		VideoCodec:     stringOr(field(v, "videoCodec"), ""),
		AudioCodec:     stringOr(field(v, "audioCodec"), ""),
	}
	stream := streamOf(arg(args, 0))
	b.goSafe(self, "answer", func() {
		if err := o.media.Answer(stream, opts); err != nil {
			b.emitError(self, err)
		}
	}, nil)
	return js.Undefined()
}

// callReplaceStream is mediaConnection.replaceStream(stream).
func callReplaceStream(b *bridge, o *object, self js.Value, args []js.Value) any {
	if o == nil || o.media == nil {
		b.emitError(self, sdk.ErrClosed)
		return js.Undefined()
	}
	stream := streamOf(arg(args, 0))
	if stream == nil {
		return jsError(fmt.Errorf("skywasm: replaceStream needs a MediaStream"))
	}
	b.goSafe(self, "replaceStream", func() {
		if err := o.media.ReplaceStream(stream); err != nil {
			b.emitError(self, err)
		}
	}, nil)
	return js.Undefined()
}

// callLocalStream is mediaConnection.localStream.
func callLocalStream(_ *bridge, o *object, _ js.Value, _ []js.Value) any {
	if o == nil || o.media == nil || o.media.LocalStream() == nil {
		return js.Null()
	}
	return o.media.LocalStream().JSValue()
}

// streamOf wraps a MediaStream argument; undefined and null mean none.
func streamOf(v js.Value) *sdk.MediaStream {
	if v.Type() != js.TypeObject {
		return nil
	}
	return sdk.StreamFromJS(v)
}
