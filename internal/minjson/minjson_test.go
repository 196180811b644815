package minjson_test

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/internal/jsonscan"
	"github.com/skywasm/skywasm/internal/minjson"
	"github.com/skywasm/skywasm/protocol"
)

// numbers covers every number kind and the shapes the payloads use.
type numbers struct {
	I   int       `json:"i"`
	I8  int8      `json:"i8"`
	I16 int16     `json:"i16,omitempty"`
	I64 int64     `json:"i64"`
	U8  uint8     `json:"u8"`
	U16 *uint16   `json:"u16"`
	U64 uint64    `json:"u64,omitempty"`
	F32 float32   `json:"f32"`
	F64 float64   `json:"f64,omitempty"`
	A   [2]string `json:"a"`
	B   bool      `json:"b,omitempty"`
	S   []int     `json:"s,omitempty"`
	M   map[string]*numbers
	Any any `json:"any"`
	Raw json.RawMessage
	Not string `json:"-"`
	low string
}

// targets are fresh values of the types minjson decodes in the SDK and
// the bridge, each compared with encoding/json.
func targets() []any {
	return []any{
		new(protocol.Envelope), new(protocol.RelayPayload), new(protocol.OpenPayload), new(protocol.ErrorPayload),
		new(protocol.RoomUserJoinPayload), new(protocol.RoomLogsPayload), new(protocol.RoomDataPayload),
		new(protocol.SFUOfferPayload), new(protocol.SFUGetOfferPayload), new(protocol.AuthExpiresInPayload),
		new(protocol.Credential), new(webrtc.ICECandidateInit), new(webrtc.DataChannelInit),
		new(numbers), new(any), new(map[string]any), new([]any), new([]string), new(string), new(float64),
	}
}

// same decodes data into a fresh value of each target with both packages
// and fails if one succeeds where the other fails or the values differ.
// Text encoding/json accepts that jsonscan refuses (not UTF-8, nested
// deeper than jsonscan.MaxDepth) is left out.
func same(t *testing.T, data []byte) {
	t.Helper()
	_, _, scanErr := jsonscan.Value(data)
	for _, target := range targets() {
		typ := reflect.TypeOf(target).Elem()
		std := reflect.New(typ).Interface()
		stdErr := json.Unmarshal(data, std)
		mine := reflect.New(typ).Interface()
		err := minjson.Unmarshal(data, mine)
		if stdErr == nil && err != nil {
			if scanErr != nil && (!utf8.Valid(data) || errors.Is(scanErr, jsonscan.ErrDepth)) {
				continue
			}
			t.Fatalf("%q into %v: minjson: %v; encoding/json accepted it", data, typ, err)
		}
		if err == nil && stdErr != nil {
			t.Fatalf("%q into %v: minjson accepted it; encoding/json: %v", data, typ, stdErr)
		}
		if err == nil && !reflect.DeepEqual(std, mine) {
			t.Fatalf("%q into %v:\nminjson      %#v\nencoding/json %#v", data, typ, mine, std)
		}
	}
}

// roundTrip encodes v with minjson and checks that the text is the same
// JSON document as encoding/json's encoding of v.
func roundTrip(t *testing.T, v any) {
	t.Helper()
	want, stdErr := json.Marshal(v)
	got, err := minjson.Marshal(v)
	if (err == nil) != (stdErr == nil) {
		t.Fatalf("Marshal(%#v): minjson error %v, encoding/json error %v", v, err, stdErr)
	}
	if err != nil {
		return
	}
	if !json.Valid(got) {
		t.Fatalf("Marshal(%#v) = %q: not JSON", v, got)
	}
	// Compared as documents: a json.RawMessage inside keeps its bytes, which
	// encoding/json also escapes for HTML.
	var a, b any
	if err := json.Unmarshal(want, &a); err != nil {
		t.Fatalf("encoding/json cannot decode its own %q: %v", want, err)
	}
	if err := json.Unmarshal(got, &b); err != nil {
		t.Fatalf("Marshal(%#v) = %q, which encoding/json cannot decode: %v", v, got, err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("Marshal(%#v)\n = %s\nencoding/json %s", v, got, want)
	}
}

var seeds = []string{
	`{"type":"OPEN","payload":{"peerId":"p1","turnCredential":{"username":"u","credential":"c","urls":["turn:a","turns:b"],"expires":17}}}`,
	`{"src":"a","dst":"b","connectionId":"mc_x","connectionType":"media","offer":{"type":"offer","sdp":"v=0\r\n"},"metadata":{"k":[1,2.5,"é"]},"dcInit":{"ordered":true,"maxRetransmits":3}}`,
	`{"type":"room-error","message":"\"quoted\" \u2028 \ud83d\ude00","request":"ROOM_JOIN","roomName":"r"}`,
	`{"roomName":"r","roomType":"mesh","src":"s","roomMembers":["a","b"]}`,
	`{"roomName":"r","log":[{"messageType":"ROOM_DATA","src":"s","timestamp":1700000000000,"data":{"x":null},"size":3}]}`,
	`{"roomName":"r","offer":{"type":"offer","sdp":"x"},"msids":{"m1":"p1","m2":"p2"}}`,
	`{"roomName":"r","videoReceiveEnabled":false,"audioReceiveEnabled":null}`,
	`{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":null}`,
	`{"Ordered":false,"MAXRETRANSMITS":65535,"protocol":"p","negotiated":true,"id":7}`,
	`{"i":-9007199254740993,"i8":127,"i16":-32768,"i64":9223372036854775807,"u8":255,"u16":65535,"u64":18446744073709551615,"f32":3.4e38,"f64":-1.5e-300,"a":["x"],"b":true,"s":[],"M":{"k":{"i":1},"n":null},"any":{"a":[true,false,null,0]},"Raw":[ 1 , {"a" : "b c"} ]}`,
	`{"i":1.5}`, `{"i8":128}`, `{"u8":-1}`, `{"f32":1e39}`, `{"a":["x","y","z"]}`, `{"s":null,"M":null,"any":null,"Raw":null}`,
	`{"SRC":"x","Src":"y","ſrc":"z"}`, `{"peerId":1}`, `{"urls":"x"}`, `[1,"a",{}]`, `"s"`, `3.25`, `null`, `true`,
	`{"seconds":1e3}`, `{"seconds":-0}`, `{"expires":"1"}`, `{"payload":{"a":1},"type":"X","payload":null}`,
	` {"a":"\u0000\b\f\n\r\t\\\/"} `, `{"a":1}x`, `{"a":}`, `{`, ``,
}

func TestUnmarshalAsEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range seeds {
		same(t, []byte(s))
	}
}

func TestMarshalAsEncodingJSON(t *testing.T) {
	t.Parallel()
	u16, yes, mid := uint16(3), true, "0"
	values := []any{
		nil, true, 0, -12, uint64(math.MaxUint64), 1.5, float32(0.1), 1e21, 1e-7, math.Copysign(0, -1), 123456789.0, 1e-6,
		"plain", "\"\\/\x00\x1f\x7f<>&\u2028\u2029é😀", "bad \xff utf-8",
		[]string{"a", "b"}, []string(nil), []any{}, [2]int{1, 2}, map[string]int{"b": 2, "a": 1}, map[string]any(nil),
		map[string]any{"x": []any{1.0, "y", nil, map[string]any{}}},
		json.RawMessage(` { "a" : [ 1 , "b c" ] } `), json.RawMessage(nil),
		&protocol.Envelope{Type: protocol.Open, Payload: json.RawMessage(`{"peerId":"p"}`)},
		protocol.RelayPayload{Dst: "d", ConnectionID: "c", ConnectionType: "data", Offer: &protocol.SessionDescription{Type: "offer", SDP: "v=0\r\n"}, Metadata: json.RawMessage(`"m"`)},
		protocol.RoomLogsPayload{RoomName: "r", Log: []protocol.LogEntry{{MessageType: protocol.RoomData, Src: "s", Timestamp: 5, Data: json.RawMessage(`{"a":1}`), Size: 7}}},
		protocol.SFUGetOfferPayload{RoomName: "r", VideoReceiveEnabled: &yes},
		protocol.SFUOfferPayload{RoomName: "r", Msids: map[string]string{"b": "1", "a": "2"}},
		protocol.ErrorPayload{Type: "x", Message: "m"}, protocol.OpenPayload{PeerID: "p", TURNCredential: &protocol.TURNCredential{URLs: []string{"u"}}},
		webrtc.ICECandidateInit{Candidate: "c", SDPMid: &mid, SDPMLineIndex: &u16},
		webrtc.DataChannelInit{Ordered: &yes, MaxRetransmits: &u16},
		numbers{I: 1, U16: &u16, A: [2]string{"x", ""}, M: map[string]*numbers{"n": nil, "m": {I8: -1}}, Any: []any{"x"}, Not: "no", low: "no"},
	}
	for _, v := range values {
		roundTrip(t, v)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	var typeErr *minjson.TypeError
	var unsupported *minjson.UnsupportedTypeError
	var syntax *minjson.SyntaxError
	var value *minjson.UnsupportedValueError
	deep := strings.Repeat("[", jsonscan.MaxDepth+1) + strings.Repeat("]", jsonscan.MaxDepth+1)
	type embedded struct{ numbers }
	var cyclic []any
	cyclic = append(cyclic, nil)
	cyclic[0] = cyclic
	tests := []struct {
		name   string
		err    error
		target any
	}{
		{"string into int", minjson.Unmarshal([]byte(`"1"`), new(int)), &typeErr},
		{"overflow", minjson.Unmarshal([]byte(`256`), new(uint8)), &typeErr},
		{"object into slice", minjson.Unmarshal([]byte(`{}`), new([]int)), &typeErr},
		{"syntax", minjson.Unmarshal([]byte(`{"a"`), new(any)), &syntax},
		{"depth", minjson.Unmarshal([]byte(deep), new(any)), &syntax},
		{"not UTF-8", minjson.Unmarshal([]byte("\"\xff\""), new(string)), &syntax},
		{"bytes", minjson.Unmarshal([]byte(`"AA=="`), new([]byte)), &unsupported},
		{"non-string keys", minjson.Unmarshal([]byte(`{}`), new(map[int]int)), &unsupported},
		{"interface with methods", minjson.Unmarshal([]byte(`1`), new(error)), &unsupported},
		{"embedded struct", minjson.Unmarshal([]byte(`{}`), new(embedded)), &unsupported},
		{"marshal embedded struct", errOf(minjson.Marshal(embedded{})), &unsupported},
		{"marshal channel", errOf(minjson.Marshal(make(chan int))), &unsupported},
		{"marshal NaN", errOf(minjson.Marshal(math.NaN())), &value},
		{"marshal bad raw", errOf(minjson.Marshal(json.RawMessage(`{`))), &syntax},
	}
	for _, tt := range tests {
		if !errors.As(tt.err, tt.target) {
			t.Errorf("%s: error %v (%T), want a %v", tt.name, tt.err, tt.err, reflect.TypeOf(tt.target).Elem().Elem())
		}
	}
	if err := minjson.Unmarshal([]byte(`1`), 1); !errors.Is(err, minjson.ErrNotPointer) {
		t.Errorf("Unmarshal into a non-pointer: %v", err)
	}
	if _, err := minjson.Marshal(cyclic); !errors.Is(err, minjson.ErrDepth) {
		t.Errorf("Marshal of a cyclic value: %v", err)
	}
}

func errOf(_ []byte, err error) error { return err }

// FuzzUnmarshal decodes the same text with minjson and encoding/json into
// every target type and compares, then encodes what encoding/json decoded
// with minjson and compares again.
func FuzzUnmarshal(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		same(t, data)
		if !utf8.Valid(data) {
			return // a json.RawMessage would keep the bytes, which minjson refuses to write
		}
		for _, target := range targets() {
			if json.Unmarshal(data, target) == nil {
				roundTrip(t, reflect.ValueOf(target).Elem().Interface())
			}
		}
	})
}
