//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"syscall/js"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/sdk"
)

// apiTimeout bounds listAllPeers and fetchPeerExists.
const apiTimeout = 10 * time.Second

// peerObject is a JavaScript Peer's Go side.
type peerObject struct {
	objectBase
	peer *sdk.Peer
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
// options) and returns its handle, 0 if the options were refused; the
// refusal (invalid-key, invalid-id) is emitted as an error event, as SkyWay
// did, once the constructor has long returned.
func callNewPeer(b *bridge, self js.Value, args []js.Value) any {
	opts, err := peerOptions(arg(args, 0), arg(args, 1))
	var p *sdk.Peer
	if err == nil {
		p, err = sdk.NewPeer(opts)
	}
	if err != nil {
		b.goSafe(self, "newPeer", func() { b.emitError(self, err) }, nil)
		return 0
	}
	o := &peerObject{objectBase: objectBase{self: self}, peer: p}
	b.add(o)
	p.OnOpen(func(id string) { b.emit(self, "open", id) })
	p.OnCall(func(m *sdk.MediaConnection) { b.emit(self, "call", b.adopt(m)) })
	p.OnConnection(func(d *sdk.DataConnection) { b.emit(self, "connection", b.adopt(d)) })
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
func peerOptions(id, v js.Value) (sdk.PeerOptions, error) {
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
	o.Logger = consoleLogger(v.Get("debug"))
	o.DisableTURN = v.Get("turn").Equal(js.ValueOf(false))
	if c := v.Get("credential"); c.Type() == js.TypeObject {
		o.Credential = credential(c)
	}
	var err error
	if o.Config, err = rtcConfiguration(v.Get("config")); err != nil {
		return o, err
	}
	o.URL = serverURL(v)
	return o, nil
}

// serverURL applies SkyWay's rule: host and port name the server, and
// secure (default true, as in SkyWay) chooses wss. With neither host nor
// port, which SkyWay sent to its dispatcher, the page's own origin serves;
// with one of them, the page's location fills in the other.
func serverURL(v js.Value) string {
	loc := js.Global().Get("location")
	host, port := v.Get("host"), v.Get("port")
	hasHost := host.Type() == js.TypeString && host.String() != ""
	hasPort := port.Type() == js.TypeNumber || port.Type() == js.TypeString && port.String() != ""
	if !hasHost && !hasPort {
		return loc.Get("origin").String()
	}
	secure := true
	if s := v.Get("secure"); s.Type() == js.TypeBoolean {
		secure = s.Bool()
	}
	h := loc.Get("hostname").String()
	if hasHost {
		h = host.String()
	}
	p := "80"
	if secure {
		p = "443"
	}
	if port.Type() == js.TypeNumber {
		p = strconv.Itoa(port.Int())
	} else if hasPort {
		p = port.String()
	}
	scheme := "http"
	if secure {
		scheme = "https"
	}
	if len(h) > 1 && h[0] == '[' && h[len(h)-1] == ']' {
		h = h[1 : len(h)-1] // JoinHostPort adds the brackets again
	}
	return scheme + "://" + net.JoinHostPort(h, p)
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

// callConnections returns {peerId: [connection objects]}.
func callConnections(b *bridge, o *peerObject, _ js.Value, _ []js.Value) any {
	out := js.Global().Get("Object").New()
	if o == nil {
		return out
	}
	for remote, conns := range o.peer.Connections() {
		list := js.Global().Get("Array").New()
		for _, c := range conns {
			if co := b.objectOf(c); co != nil {
				list.Call("push", co.base().self)
			}
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
		NoVideoReceive: field(v, "videoReceiveEnabled").Equal(js.ValueOf(false)),
		NoAudioReceive: field(v, "audioReceiveEnabled").Equal(js.ValueOf(false)),
	}
	var err error
	if opts.Metadata, err = metadataOption(field(v, "metadata")); err != nil {
		return jsError(err)
	}
	m, err := o.peer.Call(stringOr(arg(args, 0), ""), streamOf(arg(args, 1)), opts)
	if err != nil {
		b.emitError(self, err)
		return js.Undefined()
	}
	return b.adopt(m)
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
	return b.adopt(d)
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

// callGetConnection is peer.getConnection(peerId, connectionId).
func callGetConnection(b *bridge, o *peerObject, _ js.Value, args []js.Value) any {
	if o == nil {
		return js.Null()
	}
	c := o.peer.GetConnection(stringOr(arg(args, 0), ""), stringOr(arg(args, 1), ""))
	if c == nil {
		return js.Null()
	}
	if co := b.objectOf(c); co != nil {
		return co.base().self
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
