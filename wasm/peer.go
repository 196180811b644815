//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/hack-pad/safejs"

	"github.com/skywasm/skywasm/internal/jsutil"
	"github.com/skywasm/skywasm/internal/minjson"
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
	self safejs.Value
}

// keep enters a new connection's object in peer.connections and returns it.
func (o *peerObject) keep(c sdk.Connection, self safejs.Value) safejs.Value {
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
	"peerOpen":         func(_ *bridge, o *peerObject, _ safejs.Value, _ []safejs.Value) any { return o != nil && o.peer.Open() },
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
func callNewPeer(b *bridge, self safejs.Value, args []safejs.Value) any {
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
	p.OnCall(func(m *sdk.MediaConnection) { b.emitAdopted(o, "call", m) })
	p.OnConnection(func(d *sdk.DataConnection) { b.emitAdopted(o, "connection", d) })
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
func peerOptions(id, v, url safejs.Value) (sdk.PeerOptions, error) {
	var o sdk.PeerOptions
	o.ID = stringOr(id, "")
	if t, ok := jsutil.TypeOf(v); !ok || t != safejs.TypeObject {
		return o, &sdk.Error{Type: protocol.ErrInvalidKey, Message: "options with a key are required"}
	}
	o.Key = stringOr(field(v, "key"), "")
	o.Token = stringOr(field(v, "token"), "")
	o.Logger = consoleLogger(field(v, "debug"))
	o.DisableTURN = isFalse(field(v, "turn"))
	if c := field(v, "credential"); is(c, safejs.TypeObject) {
		o.Credential = credential(c)
	}
	// skywasm's additions: iceRestart: false is SkyWay's behaviour (close
	// when ICE fails); iceRestartTimeout is in milliseconds.
	o.NoICERestart = isFalse(field(v, "iceRestart"))
	// dispatch: false connects to the configured server only, never
	// asking it for a cluster's nodes.
	o.NoDispatch = isFalse(field(v, "dispatch"))
	if ms := numberOr(field(v, "iceRestartTimeout"), 0); ms > 0 {
		o.ICERestartTimeout = time.Duration(ms * float64(time.Millisecond))
	}
	var err error
	if o.Config, err = rtcConfiguration(field(v, "config")); err != nil {
		return o, err
	}
	o.URL = stringOr(url, "")
	return o, nil
}

// credential reads {timestamp, ttl, authToken}.
func credential(c safejs.Value) *protocol.Credential {
	return &protocol.Credential{
		Timestamp: int64(numberOr(field(c, "timestamp"), 0)),
		TTL:       int64(numberOr(field(c, "ttl"), 0)),
		AuthToken: stringOr(field(c, "authToken"), ""),
	}
}

// rtcConfiguration reads an RTCConfiguration through its JSON form, as the
// browser would accept it: urls may be a string or a list. Certificates
// cannot travel that way and are left out.
func rtcConfiguration(v safejs.Value) (sdk.Configuration, error) {
	var cfg sdk.Configuration
	if !is(v, safejs.TypeObject) {
		return cfg, nil
	}
	var raw struct {
		ICEServers []struct {
			URLs       json.RawMessage `json:"urls"`
			Username   string          `json:"username"`
			Credential string          `json:"credential"`
		} `json:"iceServers"`
		ICETransportPolicy   string `json:"iceTransportPolicy"`
		BundlePolicy         string `json:"bundlePolicy"`
		RTCPMuxPolicy        string `json:"rtcpMuxPolicy"`
		ICECandidatePoolSize uint8  `json:"iceCandidatePoolSize"`
	}
	text, err := stringify(v)
	if err == nil {
		err = minjson.Unmarshal([]byte(text), &raw)
	}
	if err != nil {
		return cfg, fmt.Errorf("skywasm: options.config is not an RTCConfiguration: %w", err)
	}
	for _, s := range raw.ICEServers {
		var urls []string
		if minjson.Unmarshal(s.URLs, &urls) != nil {
			var one string
			if err := minjson.Unmarshal(s.URLs, &one); err != nil {
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
	// By name, as pion's UnmarshalJSON would read them (an unknown name is
	// the zero Unknown), without those methods: they call encoding/json.
	cfg.ICETransportPolicy = webrtc.NewICETransportPolicy(raw.ICETransportPolicy)
	cfg.BundlePolicy = byName(raw.BundlePolicy, webrtc.BundlePolicyBalanced, webrtc.BundlePolicyMaxCompat, webrtc.BundlePolicyMaxBundle)
	cfg.RTCPMuxPolicy = byName(raw.RTCPMuxPolicy, webrtc.RTCPMuxPolicyNegotiate, webrtc.RTCPMuxPolicyRequire)
	cfg.ICECandidatePoolSize = raw.ICECandidatePoolSize
	return cfg, nil
}

// byName is the one of values whose String is name, or the zero value.
func byName[T fmt.Stringer](name string, values ...T) T {
	for _, v := range values {
		if v.String() == name {
			return v
		}
	}
	var zero T
	return zero
}

// callPeerID is peer.id: null until the server has given the peer one.
func callPeerID(_ *bridge, o *peerObject, _ safejs.Value, _ []safejs.Value) any {
	if o == nil || o.peer.ID() == "" {
		return nil
	}
	return o.peer.ID()
}

// callConnections returns {peerId: [connection objects]}, closed ones
// included, as SkyWay's peer.connections.
func callConnections(_ *bridge, o *peerObject, _ safejs.Value, _ []safejs.Value) any {
	out := map[string]any{}
	if o == nil {
		return out
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, remote := range o.remotes {
		list := []any{}
		for _, k := range o.kept[remote] {
			list = append(list, k.self)
		}
		out[remote] = list
	}
	return out
}

// callCall is peer.call(peerId, stream, options).
func callCall(b *bridge, o *peerObject, self safejs.Value, args []safejs.Value) any {
	if o == nil {
		b.emitError(self, sdk.ErrClosed)
		return safejs.Undefined()
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
		return safejs.Undefined()
	}
	return b.adoptOrError(o, m)
}

// receiveOff applies SkyWay's negotiator (_getReceiveOnlyState) to a
// call's stream and its videoReceiveEnabled and audioReceiveEnabled: a kind
// the stream sends is received too (false is ignored there, as SkyWay
// warned); a kind it does not send is received only if its option is true;
// with no stream and neither option, both kinds are received.
//
// A stream whose track lists cannot be read (a getter of the page's
// throws) counts as sending nothing, and an option that cannot be read as
// not given.
func receiveOff(stream, v safejs.Value) (noVideo, noAudio bool) {
	vOpt, aOpt := field(v, "videoReceiveEnabled"), field(v, "audioReceiveEnabled")
	hasStream := is(stream, safejs.TypeObject)
	if !hasStream && vOpt.IsUndefined() && aOpt.IsUndefined() {
		return false, false
	}
	off := func(tracks string, opt safejs.Value) bool {
		var b jsutil.Batch
		if hasStream && b.Length(b.Call(stream, tracks)) > 0 {
			return false
		}
		on, _ := opt.Truthy()
		return !on
	}
	return off("getVideoTracks", vOpt), off("getAudioTracks", aOpt)
}

// serializations are the DataConnection serializations SkyWay knew.
var serializations = map[string]bool{
	sdk.SerializationBinary: true, sdk.SerializationBinaryUTF8: true,
	sdk.SerializationJSON: true, sdk.SerializationNone: true,
}

// callConnect is peer.connect(peerId, options).
func callConnect(b *bridge, o *peerObject, self safejs.Value, args []safejs.Value) any {
	v := arg(args, 1)
	ser := stringOr(field(v, "serialization"), sdk.SerializationBinary)
	if s := field(v, "serialization"); !s.IsUndefined() && (!is(s, safejs.TypeString) || !serializations[ser]) {
		// SkyWay threw here rather than emitting.
		return jsError(fmt.Errorf("skywasm: serialization %s is not one of binary, binary-utf8, json, none", jsString(s)))
	}
	if o == nil {
		b.emitError(self, sdk.ErrClosed)
		return safejs.Undefined()
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
		return safejs.Undefined()
	}
	return b.adoptOrError(o, d)
}

// dcInit reads an RTCDataChannelInit.
func dcInit(v safejs.Value) *sdk.DataChannelInit {
	if !is(v, safejs.TypeObject) {
		return nil
	}
	init := &sdk.DataChannelInit{}
	if o := field(v, "ordered"); is(o, safejs.TypeBoolean) {
		b := !isFalse(o)
		init.Ordered = &b
	}
	if n := field(v, "maxPacketLifeTime"); is(n, safejs.TypeNumber) {
		u := uint16(numberOr(n, 0))
		init.MaxPacketLifeTime = &u
	}
	if n := field(v, "maxRetransmits"); is(n, safejs.TypeNumber) {
		u := uint16(numberOr(n, 0))
		init.MaxRetransmits = &u
	}
	return init
}

// metadataOption turns a metadata option into JSON, as SkyWay sent it.
func metadataOption(v safejs.Value) (any, error) {
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
func callGetConnection(_ *bridge, o *peerObject, _ safejs.Value, args []safejs.Value) any {
	if o == nil {
		return safejs.Null()
	}
	remote, id := stringOr(arg(args, 0), ""), stringOr(arg(args, 1), "")
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, k := range o.kept[remote] {
		if k.id == id {
			return k.self
		}
	}
	return safejs.Null()
}

// peerAction runs a Peer method that may block in a goroutine, and emits
// its error. On a Peer that is gone it does nothing, as SkyWay's did.
func peerAction(name string, f func(*sdk.Peer) error) handler[*peerObject] {
	return func(b *bridge, o *peerObject, self safejs.Value, _ []safejs.Value) any {
		if o == nil {
			return safejs.Undefined()
		}
		b.goSafe(self, name, func() {
			if err := f(o.peer); err != nil {
				b.emitError(self, err)
			}
		}, nil)
		return safejs.Undefined()
	}
}

// callUpdateCredential is peer.updateCredential(credential).
func callUpdateCredential(b *bridge, o *peerObject, self safejs.Value, args []safejs.Value) any {
	c := arg(args, 0)
	if !is(c, safejs.TypeObject) {
		return jsError(fmt.Errorf("skywasm: updateCredential needs {timestamp, ttl, authToken}"))
	}
	cred := credential(c)
	return peerAction("updateCredential", func(p *sdk.Peer) error { return p.UpdateCredential(*cred) })(b, o, self, nil)
}

// callListAllPeers is peer.listAllPeers(cb): cb gets the IDs, or [] with
// an error event (list-error without the permission), as in SkyWay.
func callListAllPeers(b *bridge, o *peerObject, self safejs.Value, args []safejs.Value) any {
	cb := arg(args, 0)
	if !is(cb, safejs.TypeFunction) {
		return jsError(fmt.Errorf("skywasm: listAllPeers needs a callback"))
	}
	if o == nil {
		b.emitError(self, sdk.ErrClosed)
		return safejs.Undefined()
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
		settle(cb, list)
	}, nil)
	return safejs.Undefined()
}

// callFetchPeerExists is peer.fetchPeerExists(id); the shim made the
// promise and passes its resolve and reject.
func callFetchPeerExists(b *bridge, o *peerObject, self safejs.Value, args []safejs.Value) any {
	id, resolve, reject := stringOr(arg(args, 0), ""), arg(args, 1), arg(args, 2)
	if o == nil {
		settle(reject, jsError(sdk.ErrClosed))
		return safejs.Undefined()
	}
	b.goSafe(self, "fetchPeerExists", func() {
		ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
		defer cancel()
		ok, err := o.peer.FetchPeerExists(ctx, id)
		if err != nil {
			settle(reject, jsError(err))
			return
		}
		settle(resolve, ok)
	}, func() { settle(reject, jsError(fmt.Errorf("skywasm: fetchPeerExists failed"))) })
	return safejs.Undefined()
}
