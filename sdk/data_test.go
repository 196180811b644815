//go:build !js

package sdk_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/sdk"
	"github.com/skywasm/skywasm/sdk/internal/datapack"
)

// dataPair connects two new peers with opts; see connectPeers.
func dataPair(t *testing.T, e *env, opts *sdk.ConnectOptions) (*sdk.DataConnection, *sdk.DataConnection, <-chan any) {
	t.Helper()
	return connectPeers(t, e.peer(sdk.PeerOptions{}), e.peer(sdk.PeerOptions{}), opts)
}

// connectPeers connects a to b with opts and returns both ends once open,
// with what b receives on a channel.
func connectPeers(t *testing.T, a, b *sdk.Peer, opts *sdk.ConnectOptions) (*sdk.DataConnection, *sdk.DataConnection, <-chan any) {
	t.Helper()
	incoming := make(chan *sdk.DataConnection, 1)
	received := make(chan any, 2048)
	bOpen := make(chan struct{}, 1)
	b.OnConnection(func(dc *sdk.DataConnection) {
		dc.OnData(func(v any) { received <- v })
		dc.OnOpen(func() { bOpen <- struct{}{} })
		incoming <- dc
	})
	dc, err := a.Connect(b.ID(), opts)
	if err != nil {
		t.Fatal(err)
	}
	aOpen := make(chan struct{}, 1)
	dc.OnOpen(func() { aOpen <- struct{}{} })
	far := recv(t, incoming, "the connection event")
	recv(t, aOpen, "open on the caller")
	recv(t, bOpen, "open on the callee")
	return dc, far, received
}

func TestDataSerializations(t *testing.T) {
	t.Parallel()
	big := make([]byte, 5<<20)
	_, _ = rand.Read(big)
	nested := map[string]any{
		"s": "héllo", "i": int64(-42), "u": int64(7), "f": 3.25, "t": true, "n": nil,
		"list": []any{int64(1), "two", []any{3.5}, map[string]any{"deep": []any{}}},
	}
	tests := []struct {
		name          string
		serialization string
		send          []any
		want          []any
	}{
		{"binary strings", sdk.SerializationBinary, []any{"", "hello", "日本語"}, nil},
		{"binary numbers", sdk.SerializationBinary, []any{int64(0), int64(-1), int64(1 << 40), 1.5, uint64(1 << 63)}, nil},
		{"binary nested", sdk.SerializationBinary, []any{nested}, nil},
		{"binary bool and nil", sdk.SerializationBinary, []any{true, false, nil}, nil},
		{"binary 5 MB bytes", sdk.SerializationBinary, []any{big}, nil},
		{"binary file", sdk.SerializationBinary, []any{sdk.File{Name: "a.txt", Type: "text/plain", Data: []byte("file body")}}, nil},
		{"binary-utf8", sdk.SerializationBinaryUTF8, []any{"ünïcödé", nested}, nil},
		{"json", sdk.SerializationJSON, []any{nested, "s", 2.5},
			[]any{map[string]any{"s": "héllo", "i": -42.0, "u": 7.0, "f": 3.25, "t": true, "n": nil,
				"list": []any{1.0, "two", []any{3.5}, map[string]any{"deep": []any{}}}}, "s", 2.5}},
		{"none", sdk.SerializationNone, []any{[]byte{0, 1, 2}, "text"}, nil},
	}
	e := newEnv(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dc, far, received := dataPair(t, e, &sdk.ConnectOptions{Serialization: tc.serialization, Label: "chat", Metadata: map[string]any{"k": 1}})
			if far.Serialization() != tc.serialization || far.Label() != "chat" || string(far.Metadata()) != `{"k":1}` {
				t.Errorf("far side mirrors %q %q %s", far.Serialization(), far.Label(), far.Metadata())
			}
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			for _, v := range tc.send {
				if err := dc.Send(ctx, v); err != nil {
					t.Fatal(err)
				}
			}
			want := tc.want
			if want == nil {
				want = tc.send
			}
			for i, w := range want {
				got := recv(t, received, "data")
				if b, ok := w.([]byte); ok && len(b) > 1000 {
					if g, _ := got.([]byte); !bytes.Equal(g, b) {
						t.Errorf("value %d: %d bytes differ from the %d sent", i, len(g), len(b))
					}
					continue
				}
				if !reflect.DeepEqual(got, w) {
					t.Errorf("value %d: got %#v, want %#v", i, got, w)
				}
			}
		})
	}
}

// TestDataWholeFrames checks that a binary value the far side's SCTP
// transport takes in one message goes as one, and a larger one in chunks of
// datapack.ChunkSize, by the channel's own message count.
func TestDataWholeFrames(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dc, _, received := dataPair(t, e, nil)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	sent := func() uint32 {
		for _, s := range dc.PeerConnection().GetStats() {
			if d, ok := s.(webrtc.DataChannelStats); ok {
				return d.MessagesSent
			}
		}
		t.Fatal("no data channel in the stats")
		return 0
	}
	for _, tt := range []struct {
		name     string
		size     int
		messages uint32
	}{
		{"200 KiB, whole", 200 << 10, 1},
		{"1 MiB, in chunks", 1 << 20, (1<<20+5-1)/datapack.ChunkDataSize + 1},
	} {
		before := sent()
		v := make([]byte, tt.size)
		_, _ = rand.Read(v)
		if err := dc.Send(ctx, v); err != nil {
			t.Fatal(err)
		}
		if got := recv(t, received, tt.name); !bytes.Equal(got.([]byte), v) {
			t.Fatalf("%s: the value arrived changed", tt.name)
		}
		if n := sent() - before; n != tt.messages {
			t.Errorf("%s: went as %d messages, want %d", tt.name, n, tt.messages)
		}
	}
}

func TestDataOrdering(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dc, _, received := dataPair(t, e, nil)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	const n = 1000
	for i := range n {
		if err := dc.Send(ctx, map[string]any{"seq": i, "pad": bytes.Repeat([]byte{'x'}, i*20)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		v := recv(t, received, "message").(map[string]any)
		if v["seq"] != int64(i) {
			t.Fatalf("message %d arrived as %v", i, v["seq"])
		}
	}
}

func TestDataUnreliable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ordered, zero := false, uint16(0)
	dc, far, received := dataPair(t, e, &sdk.ConnectOptions{
		Serialization: sdk.SerializationJSON, // forced to binary, as in SkyWay
		DCInit:        &sdk.DataChannelInit{Ordered: &ordered, MaxRetransmits: &zero},
	})
	if dc.Serialization() != sdk.SerializationBinary || far.Serialization() != sdk.SerializationBinary {
		t.Errorf("serialization %q/%q, want binary", dc.Serialization(), far.Serialization())
	}
	if init := far.DCInit(); init == nil || init.MaxRetransmits == nil || *init.MaxRetransmits != 0 || init.Ordered == nil || *init.Ordered {
		t.Errorf("far side's dcInit %+v does not mirror the caller's", init)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	// One message at a time: a burst can overflow loopback's UDP buffers,
	// and without retransmission that loss is final. Each message spans
	// three chunks, reassembled from an unordered channel.
	const n = 20
	for i := range n {
		if err := dc.Send(ctx, map[string]any{"i": i, "pad": make([]byte, 40000)}); err != nil {
			t.Fatal(err)
		}
		v := recv(t, received, "message").(map[string]any)
		if v["i"] != int64(i) {
			t.Fatalf("message %d arrived as %v", i, v["i"])
		}
	}
}

func TestDataSendBeforeOpen(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b := e.peer(sdk.PeerOptions{}), e.peer(sdk.PeerOptions{})
	dc, err := a.Connect(b.ID(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := dc.Send(context.Background(), "early"); err != sdk.ErrNotOpen {
		t.Errorf("Send before open: %v, want ErrNotOpen", err)
	}
}

// TestDataBackpressure sends 100 MB and checks that Send never lets more
// than its high-water mark queue in the channel.
func TestDataBackpressure(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 100 MB")
	}
	t.Parallel()
	e := newEnv(t)
	dc, _, received := dataPair(t, e, nil)
	chunk := make([]byte, 10<<20)
	done := make(chan error, 1)
	go func() {
		// Two minutes: under -race on a busy 2-core machine 100 MB took 53 s.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		for range 10 {
			if err := dc.Send(ctx, chunk); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	var peak uint64
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	got := 0
	for got < 10 {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			done = nil
		case v := <-received:
			if b, _ := v.([]byte); len(b) != len(chunk) {
				t.Fatalf("received %T of %d bytes", v, len(b))
			}
			got++
		case <-tick.C:
			if pc := dc.PeerConnection(); pc != nil {
				peak = max(peak, uint64(pc.SCTP().BufferedAmount()))
			}
		case <-time.After(2 * time.Minute):
			t.Fatal("100 MB did not arrive within two minutes")
		}
	}
	t.Logf("100 MB sent; peak SCTP buffered amount %d bytes", peak)
	if peak > 4<<20 {
		t.Errorf("the channel held %d bytes at once; Send should stop near 1 MiB", peak)
	}
}

// TestDataEchoFromHandler: the callee answers from its data handler. pion
// may deliver the first message before it reports the channel open; the
// SDK reports open first, and Send works from the handler.
func TestDataEchoFromHandler(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b := e.peer(sdk.PeerOptions{}), e.peer(sdk.PeerOptions{})
	errs := make(chan error, 16)
	b.OnConnection(func(dc *sdk.DataConnection) {
		opened := false
		dc.OnOpen(func() { opened = true })
		dc.OnData(func(v any) {
			if !opened {
				errs <- errors.New("data before open")
			}
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			if err := dc.Send(ctx, v); err != nil {
				errs <- err
			}
		})
	})
	for i := range 10 {
		dc, err := a.Connect(b.ID(), nil)
		if err != nil {
			t.Fatal(err)
		}
		echoes := make(chan any, 1)
		ready := make(chan struct{})
		dc.OnOpen(func() { close(ready) })
		dc.OnData(func(v any) { echoes <- v })
		recv(t, ready, "open")
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		if err := dc.Send(ctx, int64(i)); err != nil {
			t.Fatal(err)
		}
		cancel()
		select {
		case v := <-echoes:
			if v != int64(i) {
				t.Errorf("echo %v, want %d", v, i)
			}
		case err := <-errs:
			t.Fatalf("the callee: %v", err)
		case <-time.After(wait):
			t.Fatal("no echo")
		}
		dc.Close(true)
	}
}
