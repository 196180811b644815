//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"syscall/js"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/internal/jsutil"
	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/sdk"
)

// apiTimeout bounds listAllPeers and fetchPeerExists.
const apiTimeout = 10 * time.Second

// peerObject is a JavaScript Peer's Go side.
type peerObject struct {
	objectBase
	peer *sdk.Peer

	mu sync.Mutex
	// kept are the Peer's connections, closed ones too, by remote peer ID
	// in the order they came: SkyWay never took a connection out of
	// peer.connections, and pages count on finding closed ones there.
	kept    map[string][]keptConn
	remotes []string // kept's keys, first seen first
}

// keptConn is one entry of peer.connections.
type keptConn struct {
	id   string
	self js.Value
}

// keep enters a new connection's object in peer.connections and returns it.
func (o *peerObject) keep(c sdk.Connection, self js.Value) js.Value {
	o.mu.Lock()
	defer o.mu.Unlock()
	r := c.RemoteID()
	if _, ok := o.kept[r]; !ok {
		o.remotes = append(o.remotes, r)
	}
	o.kept[r] = append(o.kept[r], keptConn{c.ID(), self})
	return self
}

func (*peerObject) kind() kind { return kindPeer }

var peerMethods = map[string]handler[*peerObject]{
	"peerId":           callPeerID,
	"peerOpen":         func(_ *bridge, o *peerObject, _ js.Value, _ []js.Value) any { return o != nil && o.peer.Open() },
	"connections":      callConnections,
	"call":             callCall,
	"connect":          callConnect,
	"getConnection":    callGetConnection,
	"destroy":          peerAction("destroy", func(p *sdk.Peer) error { p.Destroy(); return nil }),
	"disconnect":       peerAction("disconnect", func(p *sdk.Peer) error { p.Disconnect(); return nil }),
	"reconnect":        peerAction("reconnect", (*sdk.Peer).Reconnect),
	"updateCredential": callUpdateCredential,
	"listAllPeers":     callListAllPeers,
	"fetchPeerExists":  callFetchPeerExists,
	"joinRoom":         callJoinRoom, // room.go
	"rooms":            callRooms,
}

// callNewPeer creates the Peer of the JavaScript object self from (id,
// options, serverURL) and returns its handle, 0 if the options were refused; the
// refusal (invalid-key, invalid-id) is emitted as an error event, as SkyWay
// did, once the constructor has long returned.
func callNewPeer(b *bridge, self js.Value, args []js.Value) any {
	opts, err := peerOptions(arg(args, 0), arg(args, 1), arg(args, 2))
	var p *sdk.Peer
	if err == nil {
		p, err = sdk.NewPeer(opts)
	}
	if err != nil {
		b.goSafe(self, "newPeer", func() { b.emitError(self, err) }, nil)
		return 0
	}
	o := &peerObject{objectBase: objectBase{self: self}, peer: p, kept: map[string][]keptConn{}}
	b.add(o)
	p.OnOpen(func(id string) { b.emit(self, "open", id) })
	p.OnReconnected(func(id string) { b.emit(self, "reconnected", id) })
	p.OnCall(func(m *sdk.MediaConnection) { b.emit(self, "call", o.keep(m, b.adopt(m))) })
	p.OnConnection(func(d *sdk.DataConnection) { b.emit(self, "connection", o.keep(d, b.adopt(d))) })
	p.OnDisconnected(func(id string) { b.emit(self, "disconnected", id) })
	p.OnExpiresIn(func(s int64) { b.emit(self, "expiresin", s) })
	p.OnError(func(err error) { b.emitError(self, err) })
	p.OnClose(func() {
		b.emit(self, "close")
		b.remove(o)
	})
	return o.handle
}

// peerOptions reads SkyWay's Peer options.
// url is the signaling server's origin, which the shim worked out from
// host, port and secure by SkyWay's rules, or from where it was loaded.
func peerOptions(id, v, url js.Value) (sdk.PeerOptions, error) {
	var o sdk.PeerOptions
	if id.Type() == js.TypeString {
		o.ID = id.String()
	}
	if v.Type() != js.TypeObject {
		return o, &sdk.Error{Type: protocol.ErrInvalidKey, Message: "options with a key are required"}
	}
	if k := v.Get("key"); k.Type() == js.TypeString {
		o.Key = k.String()
	}
	if t := v.Get("token"); t.Type() == js.TypeString {
		o.Token = t.String()
	}
	o.Logger = consoleLogger(v.Get("debug"))
	o.DisableTURN = v.Get("turn").Equal(js.ValueOf(false))
	if c := v.Get("credential"); c.Type() == js.TypeObject {
		o.Credential = credential(c)
	}
	var err error
	if o.Config, err = rtcConfiguration(v.Get("config")); err != nil {
		return o, err
	}
	o.URL = url.String()
	return o, nil
}

// credential reads {timestamp, ttl, authToken}.
func credential(c js.Value) *protocol.Credential {
	return &protocol.Credential{
		Timestamp: int64(numberOr(c.Get("timestamp"), 0)),
		TTL:       int64(numberOr(c.Get("ttl"), 0)),
		AuthToken: stringOr(c.Get("authToken"), ""),
	}
}

// rtcConfiguration reads an RTCConfiguration through its JSON form, as the
// browser would accept it: urls may be a string or a list. Certificates
// cannot travel that way and are left out.
func rtcConfiguration(v js.Value) (webrtc.Configuration, error) {
	var cfg webrtc.Configuration
	if v.Type() != js.TypeObject {
		return cfg, nil
	}
	var raw struct {
		ICEServers []struct {
			URLs       json.RawMessage `json:"urls"`
			Username   string          `json:"username"`
			Credential string          `json:"credential"`
		} `json:"iceServers"`
		ICETransportPolicy   webrtc.ICETransportPolicy `json:"iceTransportPolicy"`
		BundlePolicy         webrtc.BundlePolicy       `json:"bundlePolicy"`
		RTCPMuxPolicy        webrtc.RTCPMuxPolicy      `json:"rtcpMuxPolicy"`
		ICECandidatePoolSize uint8                     `json:"iceCandidatePoolSize"`
	}
	text, err := stringify(v)
	if err == nil {
		err = json.Unmarshal([]byte(text), &raw)
	}
	if err != nil {
		return cfg, fmt.Errorf("skywasm: options.config is not an RTCConfiguration: %w", err)
	}
	for _, s := range raw.ICEServers {
		var urls []string
		if json.Unmarshal(s.URLs, &urls) != nil {
			var one string
			if err := json.Unmarshal(s.URLs, &one); err != nil {
				return cfg, fmt.Errorf("skywasm: options.config.iceServers: urls is neither a string nor a list of strings")
			}
			urls = []string{one}
		}
		server := webrtc.ICEServer{URLs: urls, Username: s.Username}
		if s.Credential != "" {
			server.Credential = s.Credential
		}
		cfg.ICEServers = append(cfg.ICEServers, server)
	}
	cfg.ICETransportPolicy, cfg.BundlePolicy, cfg.RTCPMuxPolicy = raw.ICETransportPolicy, raw.BundlePolicy, raw.RTCPMuxPolicy
	cfg.ICECandidatePoolSize = raw.ICECandidatePoolSize
	return cfg, nil
}

// callPeerID is peer.id: null until the server has given the peer one.
func callPeerID(_ *bridge, o *peerObject, _ js.Value, _ []js.Value) any {
	if o == nil || o.peer.ID() == "" {
		return nil
	}
	return o.peer.ID()
}

// callConnections returns {peerId: [connection objects]}, closed ones
// included, as SkyWay's peer.connections.
func callConnections(_ *bridge, o *peerObject, _ js.Value, _ []js.Value) any {
	out := jsObject.New()
	if o == nil {
		return out
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, remote := range o.remotes {
		list := jsArray.New()
		for _, k := range o.kept[remote] {
			list.Call("push", k.self)
		}
		out.Set(remote, list)
	}
	return out
}

// callCall is peer.call(peerId, stream, options).
func callCall(b *bridge, o *peerObject, self js.Value, args []js.Value) any {
	if o == nil {
		b.emitError(self, sdk.ErrClosed)
		return js.Undefined()
	}
	v := arg(args, 2)
	opts := &sdk.CallOptions{
		ConnectionID:   stringOr(field(v, "connectionId"), ""),
		VideoBandwidth: int(numberOr(field(v, "videoBandwidth"), 0)),
		AudioBandwidth: int(numberOr(field(v, "audioBandwidth"), 0)),
		VideoCodec:     stringOr(field(v, "videoCodec"), ""),
		AudioCodec:     stringOr(field(v, "audioCodec"), ""),
	}
	opts.NoVideoReceive, opts.NoAudioReceive = receiveOff(arg(args, 1), v)
	var err error
	if opts.Metadata, err = metadataOption(field(v, "metadata")); err != nil {
		return jsError(err)
	}
	m, err := o.peer.Call(stringOr(arg(args, 0), ""), streamOf(arg(args, 1)), opts)
	if err != nil {
		b.emitError(self, err)
		return js.Undefined()
	}
	return o.keep(m, b.adopt(m))
}

// receiveOff applies SkyWay's negotiator (_getReceiveOnlyState) to a
// call's stream and its videoReceiveEnabled and audioReceiveEnabled: a kind
// the stream sends is received too (false is ignored there, as SkyWay
// warned); a kind it does not send is received only if its option is true;
// with no stream and neither option, both kinds are received.
func receiveOff(stream, v js.Value) (noVideo, noAudio bool) {
	vOpt, aOpt := field(v, "videoReceiveEnabled"), field(v, "audioReceiveEnabled")
	hasStream := stream.Type() == js.TypeObject
	if !hasStream && vOpt.IsUndefined() && aOpt.IsUndefined() {
		return false, false
	}
	off := func(tracks string, opt js.Value) bool {
		if hasStream {
			n := 0
			if jsutil.Try(func() { n = stream.Call(tracks).Length() }) == nil && n > 0 {
				return false
			}
		}
		return !opt.Truthy()
	}
	return off("getVideoTracks", vOpt), off("getAudioTracks", aOpt)
}

// serializations are the DataConnection serializations SkyWay knew.
var serializations = map[string]bool{
	sdk.SerializationBinary: true, sdk.SerializationBinaryUTF8: true,
	sdk.SerializationJSON: true, sdk.SerializationNone: true,
}

// callConnect is peer.connect(peerId, options).
func callConnect(b *bridge, o *peerObject, self js.Value, args []js.Value) any {
	v := arg(args, 1)
	ser := stringOr(field(v, "serialization"), sdk.SerializationBinary)
	if s := field(v, "serialization"); !s.IsUndefined() && (s.Type() != js.TypeString || !serializations[ser]) {
		// SkyWay threw here rather than emitting.
		return jsError(fmt.Errorf("skywasm: serialization %s is not one of binary, binary-utf8, json, none", js.Global().Call("String", s).String()))
	}
	if o == nil {
		b.emitError(self, sdk.ErrClosed)
		return js.Undefined()
	}
	opts := &sdk.ConnectOptions{
		ConnectionID:  stringOr(field(v, "connectionId"), ""),
		Label:         stringOr(field(v, "label"), ""),
		Serialization: ser,
		DCInit:        dcInit(field(v, "dcInit")),
	}
	var err error
	if opts.Metadata, err = metadataOption(field(v, "metadata")); err != nil {
		return jsError(err)
	}
	d, err := o.peer.Connect(stringOr(arg(args, 0), ""), opts)
	if err != nil {
		b.emitError(self, err)
		return js.Undefined()
	}
	return o.keep(d, b.adopt(d))
}

// dcInit reads an RTCDataChannelInit.
func dcInit(v js.Value) *sdk.DataChannelInit {
	if v.Type() != js.TypeObject {
		return nil
	}
	init := &sdk.DataChannelInit{}
	if o := v.Get("ordered"); o.Type() == js.TypeBoolean {
		b := o.Bool()
		init.Ordered = &b
	}
	if n := v.Get("maxPacketLifeTime"); n.Type() == js.TypeNumber {
		u := uint16(n.Int())
		init.MaxPacketLifeTime = &u
	}
	if n := v.Get("maxRetransmits"); n.Type() == js.TypeNumber {
		u := uint16(n.Int())
		init.MaxRetransmits = &u
	}
	return init
}

// metadataOption turns a metadata option into JSON, as SkyWay sent it.
func metadataOption(v js.Value) (any, error) {
	if v.IsUndefined() {
		return nil, nil
	}
	text, err := stringify(v)
	if err != nil {
		return nil, fmt.Errorf("skywasm: metadata: %w", err)
	}
	return json.RawMessage(text), nil
}

// callGetConnection is peer.getConnection(peerId, connectionId): found in
// peer.connections, as SkyWay searched it, so a closed connection is found
// too; null if there is none.
func callGetConnection(_ *bridge, o *peerObject, _ js.Value, args []js.Value) any {
	if o == nil {
		return js.Null()
	}
	remote, id := stringOr(arg(args, 0), ""), stringOr(arg(args, 1), "")
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, k := range o.kept[remote] {
		if k.id == id {
			return k.self
		}
	}
	return js.Null()
}

// peerAction runs a Peer method that may block in a goroutine, and emits
// its error. On a Peer that is gone it does nothing, as SkyWay's did.
func peerAction(name string, f func(*sdk.Peer) error) handler[*peerObject] {
	return func(b *bridge, o *peerObject, self js.Value, _ []js.Value) any {
		if o == nil {
			return js.Undefined()
		}
		b.goSafe(self, name, func() {
			if err := f(o.peer); err != nil {
				b.emitError(self, err)
			}
		}, nil)
		return js.Undefined()
	}
}

// callUpdateCredential is peer.updateCredential(credential).
func callUpdateCredential(b *bridge, o *peerObject, self js.Value, args []js.Value) any {
	c := arg(args, 0)
	if c.Type() != js.TypeObject {
		return jsError(fmt.Errorf("skywasm: updateCredential needs {timestamp, ttl, authToken}"))
	}
	cred := credential(c)
	return peerAction("updateCredential", func(p *sdk.Peer) error { return p.UpdateCredential(*cred) })(b, o, self, nil)
}

// callListAllPeers is peer.listAllPeers(cb): cb gets the IDs, or [] with
// an error event (list-error without the permission), as in SkyWay.
func callListAllPeers(b *bridge, o *peerObject, self js.Value, args []js.Value) any {
	cb := arg(args, 0)
	if cb.Type() != js.TypeFunction {
		return jsError(fmt.Errorf("skywasm: listAllPeers needs a callback"))
	}
	if o == nil {
		b.emitError(self, sdk.ErrClosed)
		return js.Undefined()
	}
	b.goSafe(self, "listAllPeers", func() {
		ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
		defer cancel()
		ids, err := o.peer.ListAllPeers(ctx)
		if err != nil {
			b.emitError(self, err)
		}
		list := make([]any, len(ids))
		for i, id := range ids {
			list[i] = id
		}
		cb.Invoke(list)
	}, nil)
	return js.Undefined()
}

// callFetchPeerExists is peer.fetchPeerExists(id); the shim made the
// promise and passes its resolve and reject.
func callFetchPeerExists(b *bridge, o *peerObject, self js.Value, args []js.Value) any {
	id, resolve, reject := stringOr(arg(args, 0), ""), arg(args, 1), arg(args, 2)
	if o == nil {
		reject.Invoke(jsError(sdk.ErrClosed))
		return js.Undefined()
	}
	b.goSafe(self, "fetchPeerExists", func() {
		ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
		defer cancel()
		ok, err := o.peer.FetchPeerExists(ctx, id)
		if err != nil {
			reject.Invoke(jsError(err))
			return
		}
		resolve.Invoke(ok)
	}, func() { reject.Invoke(jsError(fmt.Errorf("skywasm: fetchPeerExists failed"))) })
	return js.Undefined()
}
