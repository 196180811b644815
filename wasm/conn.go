//go:build js && wasm

package main

import (
	"fmt"
	"syscall/js"

	"github.com/skywasm/skywasm/internal/jsutil"
	"github.com/skywasm/skywasm/internal/queue"
	"github.com/skywasm/skywasm/sdk"
)

// connObject is the Go side of a JavaScript MediaConnection or
// DataConnection: a *mediaObject or a *dataObject.
type connObject interface {
	object
	conn() sdk.Connection
}

// mediaObject is a JavaScript MediaConnection's Go side.
type mediaObject struct {
	objectBase
	media *sdk.MediaConnection
}

func (*mediaObject) kind() kind             { return kindMedia }
func (o *mediaObject) conn() sdk.Connection { return o.media }

// dataObject is a JavaScript DataConnection's Go side.
type dataObject struct {
	objectBase
	data *sdk.DataConnection
	// sends keeps the page's sends in order (send.go); it is closed with
	// the connection.
	sends *queue.Queue[sendJob]
}

func (*dataObject) kind() kind             { return kindData }
func (o *dataObject) conn() sdk.Connection { return o.data }

// connMethods are those both kinds of connection have.
var connMethods = map[string]handler[connObject]{
	"connOpen":       func(_ *bridge, o connObject, _ js.Value, _ []js.Value) any { return o != nil && o.conn().Open() },
	"peerConnection": callPeerConnection,
	"close":          callClose,
}

var mediaMethods = map[string]handler[*mediaObject]{
	"answer":        callAnswer,
	"replaceStream": callReplaceStream,
	"localStream":   callLocalStream,
}

var dataMethods = map[string]handler[*dataObject]{
	"send": callSend, // send.go
}

// connProps are the properties of a connection's JavaScript object.
func connProps(c sdk.Connection) map[string]any {
	return map[string]any{
		"id":       c.ID(),
		"type":     string(c.Type()),
		"remoteId": c.RemoteID(),
		"metadata": metadataValue(c.Metadata()),
	}
}

// adopt gives an SDK connection its JavaScript object, which it returns,
// and routes its events there. The object leaves the table after its close
// event.
func (b *bridge) adopt(c sdk.Connection) js.Value {
	props := connProps(c)
	switch c := c.(type) {
	case *sdk.MediaConnection:
		o := &mediaObject{media: c}
		b.add(o)
		o.self = b.makeFn.Invoke(string(c.Type()), o.handle, props)
		self := o.self
		c.OnStream(func(s *sdk.MediaStream) { b.emit(self, "stream", s.JSValue()) })
		c.OnError(func(err error) { b.emitError(self, err) })
		c.OnClose(func() {
			b.emit(self, "close")
			b.remove(o)
		})
		return self
	case *sdk.DataConnection:
		props["label"] = c.Label()
		props["serialization"] = c.Serialization()
		props["dcInit"] = dcInitValue(c.DCInit())
		o := &dataObject{data: c}
		b.add(o)
		o.self = b.makeFn.Invoke(string(c.Type()), o.handle, props)
		o.sends = b.newSendQueue(o)
		self := o.self
		c.OnOpen(func() { b.emit(self, "open") })
		c.OnData(func(v any) { b.emit(self, "data", toJS(v)) })
		c.OnError(func(err error) { b.emitError(self, err) })
		c.OnClose(func() {
			b.emit(self, "close")
			// Sends still waiting will never go: each fails as a
			// send on a closed connection does.
			o.sends.Close()
			b.remove(o)
		})
		return self
	}
	panic(fmt.Sprintf("skywasm: a connection of type %T", c))
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
func callPeerConnection(_ *bridge, o connObject, _ js.Value, _ []js.Value) any {
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
func callClose(b *bridge, o connObject, self js.Value, args []js.Value) any {
	if o == nil {
		return js.Undefined()
	}
	force := arg(args, 0).Truthy()
	b.goSafe(self, "close", func() { o.conn().Close(force) }, nil)
	return js.Undefined()
}

// callAnswer is mediaConnection.answer(stream, options).
func callAnswer(b *bridge, o *mediaObject, self js.Value, args []js.Value) any {
	if o == nil {
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
func callReplaceStream(b *bridge, o *mediaObject, self js.Value, args []js.Value) any {
	if o == nil {
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
func callLocalStream(_ *bridge, o *mediaObject, _ js.Value, _ []js.Value) any {
	if o == nil || o.media.LocalStream() == nil {
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
