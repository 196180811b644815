package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/internal/minjson"
	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/sdk/internal/datapack"
)

// The serializations of a DataConnection, SkyWay's names.
const (
	// SerializationBinary sends any value as MessagePack, in chunks of at
	// most 16 KiB that the far side reassembles. The default.
	SerializationBinary = "binary"
	// SerializationBinaryUTF8 is the same as binary: MessagePack strings
	// are UTF-8 already. SkyWay's BinaryPack needed the distinction.
	SerializationBinaryUTF8 = "binary-utf8"
	// SerializationJSON sends JSON text, one message per value, unchunked.
	SerializationJSON = "json"
	// SerializationNone sends []byte as binary and strings as text, as is.
	SerializationNone = "none"
)

// Backpressure: Send waits while more than sendHighWater bytes are queued
// in the channel, until they fall to sendLowWater.
const (
	sendHighWater = 1 << 20
	sendLowWater  = 256 << 10
	// maxWholeFrame is the largest binary value sent whole, as one
	// message, when the far side takes messages that large: Chromium's
	// and Safari's limit, a quarter of Firefox's.
	maxWholeFrame = 256 << 10
	// closeDrainTimeout bounds how long Close(false) lets queued data go.
	closeDrainTimeout = 5 * time.Second
)

// File is a named blob: a browser File sent over a binary DataConnection
// arrives as a File, with its name and type.
type File = datapack.File

// DataChannelInit is SkyWay's dcInit, an RTCDataChannelInit.
type DataChannelInit struct {
	Ordered           *bool   `json:"ordered,omitempty"`
	MaxPacketLifeTime *uint16 `json:"maxPacketLifeTime,omitempty"`
	MaxRetransmits    *uint16 `json:"maxRetransmits,omitempty"`
}

func (i *DataChannelInit) unreliable() bool {
	return i != nil && (i.MaxPacketLifeTime != nil || i.MaxRetransmits != nil)
}

// ConnectOptions are the options of Peer.Connect, SkyWay's.
type ConnectOptions struct {
	// ConnectionID is the connection's ID; "" means "dc_" and a random one.
	ConnectionID string
	// Label is the data channel's label; "" means the connection ID.
	Label string
	// Metadata travels with the offer, as JSON.
	Metadata any
	// Serialization is one of the Serialization constants; "" means binary.
	// An unreliable DCInit forces binary, as in SkyWay.
	Serialization string
	// DCInit configures the data channel.
	DCInit *DataChannelInit
}

// DataConnection is a data channel to another peer: SkyWay's
// DataConnection.
type DataConnection struct {
	conn
	label         string
	serialization string
	dcInit        *DataChannelInit

	onOpen latch[struct{}]
	onData handler[any]

	low    chan struct{} // the channel's buffered amount fell to sendLowWater
	sendMu sync.Mutex    // one message's frames at a time
	// The browser's send buffer, guarded by sendMu, and OnRawData.
	io browserIO
	// Guarded by sendMu: the frame being built, and an upper bound of
	// the channel's buffered amount (see write).
	frame    []byte
	buffered int
	whole    int // the largest value sent as one message; 0 until known
	nextID   atomic.Uint32
	reasm    datapack.Reassembler // only the channel's message callback uses it

	dcMu sync.Mutex
	dc   *webrtc.DataChannel
}

// Label is the data channel's label.
func (d *DataConnection) Label() string { return d.label }

// Serialization is how values are encoded.
func (d *DataConnection) Serialization() string { return d.serialization }

// DCInit is the data channel's configuration, nil for the default.
func (d *DataConnection) DCInit() *DataChannelInit { return d.dcInit }

// OnOpen sets the handler of the open event: the channel can carry data.
// An open that came before the handler was set is delivered when it is set.
func (d *DataConnection) OnOpen(f func()) { d.onOpen.set(d.events, func(struct{}) { f() }) }

// OnData sets the handler of received values: for binary, nil, bool,
// int64, uint64, float64, string, []byte, File, []any or map[string]any;
// for json, what encoding/json decodes into an any; for none, string or
// []byte (in the browser, OnRawData can take the bytes as they came).
func (d *DataConnection) OnData(f func(any)) { d.onData.set(f) }

func validSerialization(s string) bool {
	switch s {
	case SerializationBinary, SerializationBinaryUTF8, SerializationJSON, SerializationNone:
		return true
	}
	return false
}

// Connect opens a data connection to remoteID. The far side accepts it by
// itself; OnOpen fires on both sides when the channel is up.
func (p *Peer) Connect(remoteID string, opts *ConnectOptions) (*DataConnection, error) {
	if opts == nil {
		opts = &ConnectOptions{}
	}
	ser := opts.Serialization
	if ser == "" || opts.DCInit.unreliable() {
		ser = SerializationBinary
	}
	if !validSerialization(ser) {
		return nil, fmt.Errorf("sdk: serialization %q is not binary, binary-utf8, json or none", opts.Serialization)
	}
	id, metadata, err := p.newConnectionArgs(remoteID, opts.ConnectionID, "dc_", opts.Metadata)
	if err != nil {
		return nil, err
	}
	label := opts.Label
	if label == "" {
		label = id
	}
	d := &DataConnection{label: label, serialization: ser, dcInit: opts.DCInit, low: make(chan struct{}, 1)}
	d.init(p, id, remoteID, protocol.Data, metadata, false)
	d.offerer = true
	d.onShutdown = d.closeChannel
	if p.unreachable(remoteID) {
		return d, nil
	}
	p.register(d)
	var dcInitJSON json.RawMessage
	if d.dcInit != nil {
		dcInitJSON, _ = minjson.Marshal(d.dcInit)
	}
	d.ops.Push(func() {
		pc, err := d.newPeerConnection()
		var dc *webrtc.DataChannel
		if err == nil {
			dc, err = pc.CreateDataChannel(label, d.dcInit.pion())
		}
		if err == nil {
			d.attach(dc)
			err = d.offer(pc, protocol.RelayPayload{
				Metadata: metadata, Serialization: ser, Label: label, DCInit: dcInitJSON,
			})
		}
		if err != nil {
			d.fail(err, true)
		}
	})
	return d, nil
}

func (i *DataChannelInit) pion() *webrtc.DataChannelInit {
	if i == nil {
		return nil
	}
	return &webrtc.DataChannelInit{Ordered: i.Ordered, MaxPacketLifeTime: i.MaxPacketLifeTime, MaxRetransmits: i.MaxRetransmits}
}

func (p *Peer) incomingData(r *protocol.RelayPayload) {
	ser := r.Serialization
	if !validSerialization(ser) {
		ser = SerializationBinary
	}
	var init *DataChannelInit
	if len(r.DCInit) > 0 {
		init = &DataChannelInit{}
		if minjson.Unmarshal(r.DCInit, init) != nil {
			init = nil
		}
	}
	d := &DataConnection{label: r.Label, serialization: ser, dcInit: init, low: make(chan struct{}, 1)}
	d.init(p, r.ConnectionID, r.Src, protocol.Data, r.Metadata, true)
	d.onShutdown = d.closeChannel
	p.register(d)
	deliverIncoming(p, &p.onConnection, d, d.events)
	offer := r.Offer.SDP
	d.ops.Push(func() {
		pc, err := d.newPeerConnection()
		if err == nil {
			pc.OnDataChannel(d.attach)
			err = d.answer(offer, nil)
		}
		if err != nil {
			d.fail(err, true)
		}
	})
}

// handleOffer takes a re-offer: data connections never renegotiate, but an
// answer keeps the far side consistent.
func (d *DataConnection) handleOffer(r *protocol.RelayPayload) {
	if r.Offer == nil {
		return
	}
	d.ops.Push(func() {
		if err := d.answer(r.Offer.SDP, nil); err != nil {
			d.fail(err, false)
		}
	})
}

// attach wires the data channel's events to the connection.
func (d *DataConnection) attach(dc *webrtc.DataChannel) {
	d.dcMu.Lock()
	d.dc = dc
	d.dcMu.Unlock()
	dc.SetBufferedAmountLowThreshold(sendLowWater)
	dc.OnBufferedAmountLow(func() {
		select {
		case d.low <- struct{}{}:
		default:
		}
	})
	dc.OnOpen(d.opened)
	dc.OnClose(func() { go d.shutdown(false, "the data channel closed") })
	d.receiveMessages(dc)
	if dc.ReadyState() == webrtc.DataChannelStateOpen {
		d.opened()
	}
}

// opened marks the connection open and fires open, once. pion reports the
// open of a channel the far side created from a goroutine of its own, so
// the first message can come before it: receive calls this too, so that
// open always comes first and Send works from a data handler.
func (d *DataConnection) opened() {
	// The event is queued under the lock, so that a racing receive, which
	// finds the connection open, cannot queue its data ahead of it.
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.closed && !d.open {
		d.open = true
		d.onOpen.fire(d.events, 1, struct{}{})
	}
}

func (d *DataConnection) channel() *webrtc.DataChannel {
	d.dcMu.Lock()
	defer d.dcMu.Unlock()
	return d.dc
}

func (d *DataConnection) closeChannel() {
	if dc := d.channel(); dc != nil {
		_ = dc.Close()
	}
}

// receive decodes one channel message and delivers its value.
func (d *DataConnection) receive(msg webrtc.DataChannelMessage) {
	d.opened()
	var v any
	var err error
	switch d.serialization {
	case SerializationJSON:
		err = unmarshalUserJSON(msg.Data, &v)
	case SerializationNone:
		if msg.IsString {
			v = string(msg.Data)
		} else {
			v = msg.Data
		}
	default:
		var done bool
		if v, done, err = d.reasm.Unpack(msg.Data); err == nil && !done {
			return
		}
	}
	if err != nil {
		d.undecodable(err)
		return
	}
	// Queued under the lock: no data after the close event.
	d.mu.Lock()
	if !d.closed {
		emit(d.events, &d.onData, v)
	}
	d.mu.Unlock()
}

// undecodable reports data from the far side that cannot be delivered.
func (d *DataConnection) undecodable(err error) {
	emit(d.events, &d.onError, error(fmt.Errorf("sdk: undecodable data from %s: %w", d.remoteID, err)))
}

// Send sends v. It returns once v is handed to the channel, waiting while
// the channel has more than 1 MiB queued, so a large value never sits in
// memory more than once. Concurrent Sends go out one after the other.
// Before the open event it returns ErrNotOpen, as SkyWay sent nothing then.
func (d *DataConnection) Send(ctx context.Context, v any) error {
	dc := d.channel()
	if !d.Open() || dc == nil {
		return ErrNotOpen
	}
	d.sendMu.Lock()
	defer d.sendMu.Unlock()
	switch d.serialization {
	case SerializationJSON:
		b, err := marshalUserJSON(v)
		if err != nil {
			return fmt.Errorf("sdk: encoding JSON: %w", err)
		}
		return d.write(ctx, dc, b, true)
	case SerializationNone:
		switch x := v.(type) {
		case []byte:
			return d.write(ctx, dc, x, false)
		case string:
			return d.write(ctx, dc, []byte(x), true)
		}
		return fmt.Errorf("sdk: serialization none sends []byte or string, not %T", v)
	}
	sp, err := split(d.nextID.Add(1), v, d.wholeSize())
	if err != nil {
		return fmt.Errorf("sdk: encoding MessagePack: %w", err)
	}
	for i := range sp.Frames() {
		d.frame = sp.AppendFrame(d.frame[:0], i)
		if err := d.write(ctx, dc, d.frame, false); err != nil {
			return err
		}
	}
	return nil
}

// split encodes v for the binary serialization, to go whole when its
// encoding is at most whole bytes, else in chunks. Bytes and files are sent
// from the caller's own slice behind a header, never copied whole.
func split(id uint32, v any, whole int) (*datapack.Splitter, error) {
	var head []byte
	var body []byte
	var err error
	switch x := v.(type) {
	case []byte:
		if x != nil {
			head, err = datapack.AppendBinHeader(nil, len(x))
			body = x
		} else {
			head, err = datapack.Encode(nil)
		}
	case File:
		head, err = datapack.AppendFileHeader(nil, x.Name, x.Type, len(x.Data))
		body = x.Data
	default:
		head, err = datapack.Encode(v)
	}
	if err != nil {
		return nil, err
	}
	return datapack.NewWholeSplitter(id, whole, head, body), nil
}

// wholeSize is the largest binary value d sends as one message, read once
// it is known (wholeLimit). It runs under sendMu.
func (d *DataConnection) wholeSize() int {
	if d.whole == 0 {
		d.whole = wholeLimit(d.PeerConnection())
	}
	return d.whole
}

// wholeLimit is the largest binary value pc's data channels send as one
// message: what the far side's SCTP transport takes, up to maxWholeFrame;
// 0 while pc does not know yet, which sends chunks only.
func wholeLimit(pc *webrtc.PeerConnection) int {
	if pc == nil {
		return 0
	}
	return min(maxMessageSize(pc), maxWholeFrame)
}

// write hands one message to the channel once it has room: while more
// than sendHighWater bytes are queued in it, it waits. Reading the queued
// amount is a call into the browser, so it is read only when the bound
// kept in d.buffered says the channel might be that full: the amount last
// read plus what was written since, which only the channel's sending can
// lower. write runs under sendMu.
func (d *DataConnection) write(ctx context.Context, dc *webrtc.DataChannel, b []byte, text bool) error {
	for !d.roomFor(dc, len(b)) {
		// The timer is a safety net: the low event is the signal.
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case <-d.low:
		case <-t.C:
		case <-d.done:
			t.Stop()
			return ErrClosed
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
		t.Stop()
	}
	var err error
	if text {
		err = dc.SendText(string(b))
	} else {
		err = d.io.write(dc, b)
	}
	if err != nil {
		return fmt.Errorf("sdk: data channel send: %w", err)
	}
	d.buffered += len(b)
	return nil
}

// roomFor reports whether a message of n bytes may go now: while the
// channel holds more than sendHighWater bytes, it may not. It reads the
// channel's buffered amount only when d.buffered says the channel might be
// that full. It runs under sendMu.
func (d *DataConnection) roomFor(dc *webrtc.DataChannel, n int) bool {
	if d.buffered+n <= sendHighWater {
		return true
	}
	d.buffered = int(dc.BufferedAmount())
	return d.buffered <= sendHighWater
}

// Close ends the connection on both sides. With force false, data already
// handed to Send still goes out first (for up to 5 s); force closes at once.
func (d *DataConnection) Close(force bool) {
	dc := d.channel()
	if force || dc == nil || !d.Open() {
		d.shutdown(true, "closed")
		return
	}
	go func() {
		deadline := time.Now().Add(closeDrainTimeout)
		for dc.BufferedAmount() > 0 && time.Now().Before(deadline) {
			select {
			case <-d.done:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
		d.shutdown(true, "closed")
	}()
}
