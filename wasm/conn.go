//go:build js && wasm

package main

import (
	"fmt"
	"syscall/js"

	"github.com/hack-pad/safejs"

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
	"connOpen": func(_ *bridge, o connObject, _ safejs.Value, _ []safejs.Value) any {
		return o != nil && o.conn().Open()
	},
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
//
// If the shim's make throws, the connection cannot reach the page: it is
// closed, and the error returned.
func (b *bridge) adopt(c sdk.Connection) (safejs.Value, error) {
	props := connProps(c)
	switch c := c.(type) {
	case *sdk.MediaConnection:
		o := &mediaObject{media: c}
		if err := b.make(o, string(c.Type()), props); err != nil {
			go c.Close(true)
			return safejs.Undefined(), err
		}
		self := o.self
		c.OnStream(func(s *sdk.MediaStream) { b.emit(self, "stream", s.JSValue()) })
		b.recoveryEvents(self, c)
		c.OnError(func(err error) { b.emitError(self, err) })
		c.OnClose(func() {
			b.emit(self, "close")
			b.remove(o)
		})
		return self, nil
	case *sdk.DataConnection:
		props["label"] = c.Label()
		props["serialization"] = c.Serialization()
		props["dcInit"] = dcInitValue(c.DCInit())
		o := &dataObject{data: c}
		if err := b.make(o, string(c.Type()), props); err != nil {
			go c.Close(true)
			return safejs.Undefined(), err
		}
		o.sends = b.newSendQueue(o)
		self := o.self
		c.OnOpen(func() { b.emit(self, "open") })
		b.recoveryEvents(self, c)
		c.OnData(func(v any) { b.emit(self, "data", toJS(v)) })
		// A `none` connection's ArrayBuffers reach the page as they came.
		c.OnRawData(func(v js.Value) { b.emit(self, "data", safejs.Safe(v)) })
		c.OnError(func(err error) { b.emitError(self, err) })
		c.OnClose(func() {
			b.emit(self, "close")
			// Sends still waiting will never go: each fails as a
			// send on a closed connection does.
			o.sends.Close()
			b.remove(o)
		})
		return self, nil
	}
	panic(fmt.Sprintf("skywasm: a connection of type %T", c))
}

// metadataValue turns the JSON metadata of an offer into a JavaScript value,
// undefined if there was none. Metadata the page cannot parse arrives as the
// string it is.
func metadataValue(raw []byte) any {
	if raw == nil {
		return safejs.Undefined()
	}
	v, err := jsJSON.Call("parse", string(raw))
	if err != nil {
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

// emitAdopted emits the event name on the Peer p with the object of c,
// which enters p's connections (peerObject.keep); a connection whose object
// cannot be made is closed (adopt) and reported on p instead.
func (b *bridge) emitAdopted(p *peerObject, name string, c sdk.Connection) {
	v, err := b.adopt(c)
	if err != nil {
		b.emitError(p.self, err)
		return
	}
	b.emit(p.self, name, p.keep(c, v))
}

// adoptOrError is adopt for the result of a method of the Peer p: the
// object, entered in p's connections, or undefined after an error event on
// p.
func (b *bridge) adoptOrError(p *peerObject, c sdk.Connection) any {
	v, err := b.adopt(c)
	if err != nil {
		b.emitError(p.self, err)
		return safejs.Undefined()
	}
	return p.keep(c, v)
}

// The events of skywasm's ICE recovery (sdk/icerestart.go), on the
// connection's object: an addition to SkyWay's events.
const (
	eventReconnecting = "reconnecting"
	eventReconnected  = "reconnected"
)

// recoveryEvents routes a connection's ICE recovery events to self.
func (b *bridge) recoveryEvents(self safejs.Value, c sdk.Connection) {
	c.OnReconnecting(func() { b.emit(self, eventReconnecting) })
	c.OnReconnected(func() { b.emit(self, eventReconnected) })
}

// make enters o in the table and creates its JavaScript object with the
// shim's make(kind, handle, props); if that throws, o leaves the table.
func (b *bridge) make(o object, kind string, props map[string]any) error {
	b.add(o)
	self, err := b.makeFn.Invoke(kind, o.base().handle, props)
	if err != nil {
		b.remove(o)
		return fmt.Errorf("skywasm: creating the %s object: %w", kind, jsutil.FromSafe(err))
	}
	o.base().self = self
	return nil
}

// callPeerConnection is getPeerConnection(): the page's RTCPeerConnection.
func callPeerConnection(_ *bridge, o connObject, _ safejs.Value, _ []safejs.Value) any {
	if o == nil {
		return safejs.Null()
	}
	pc := o.conn().PeerConnection()
	if pc == nil {
		return safejs.Null()
	}
	return pc.JSValue()
}

// callClose is close(forceClose). Closing may wait on the browser, so it
// runs in a goroutine; the close event follows.
func callClose(b *bridge, o connObject, self safejs.Value, args []safejs.Value) any {
	if o == nil {
		return safejs.Undefined()
	}
	force, _ := arg(args, 0).Truthy()
	b.goSafe(self, "close", func() { o.conn().Close(force) }, nil)
	return safejs.Undefined()
}

// callAnswer is mediaConnection.answer(stream, options).
func callAnswer(b *bridge, o *mediaObject, self safejs.Value, args []safejs.Value) any {
	if o == nil {
		b.emitError(self, sdk.ErrClosed)
		return safejs.Undefined()
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
	return safejs.Undefined()
}

// callReplaceStream is mediaConnection.replaceStream(stream).
func callReplaceStream(b *bridge, o *mediaObject, self safejs.Value, args []safejs.Value) any {
	if o == nil {
		b.emitError(self, sdk.ErrClosed)
		return safejs.Undefined()
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
	return safejs.Undefined()
}

// callLocalStream is mediaConnection.localStream.
func callLocalStream(_ *bridge, o *mediaObject, _ safejs.Value, _ []safejs.Value) any {
	if o == nil || o.media.LocalStream() == nil {
		return safejs.Null()
	}
	return o.media.LocalStream().JSValue()
}

// streamOf wraps a MediaStream argument; undefined and null mean none.
func streamOf(v safejs.Value) *sdk.MediaStream {
	if t, ok := jsutil.TypeOf(v); !ok || t != safejs.TypeObject {
		return nil
	}
	return sdk.StreamFromJS(safejs.Unsafe(v))
}
