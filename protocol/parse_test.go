package protocol

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const offerJSON = `{"type":"SEND_OFFER","payload":{"dst":"bob","connectionId":"mc_1","connectionType":"media","offer":{"type":"offer","sdp":"v=0\r\n"},"metadata":{"n":[1,2]},"browser":"chrome"}}`

func TestParse(t *testing.T) {
	t.Parallel()
	big := `{"type":"SEND_CANDIDATE","payload":{"dst":"b","connectionId":"c","connectionType":"data","candidate":{"candidate":"` + strings.Repeat("x", MaxMessageSize) + `"}}}`
	tests := []struct {
		name  string
		frame string
		typ   MessageType
		err   string // a part of the error message; "" for success
	}{
		{"offer", offerJSON, SendOffer, ""},
		{"answer", `{"type":"SEND_ANSWER","payload":{"dst":"bob","connectionId":"dc_x","connectionType":"data","answer":{"type":"answer","sdp":""}}}`, SendAnswer, ""},
		{"candidate", `{"type":"SEND_CANDIDATE","payload":{"dst":"b","connectionId":"c","connectionType":"media","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMid":"0"}}}`, SendCandidate, ""},
		{"force close", `{"type":"SEND_FORCE_CLOSE","payload":{"dst":"b","connectionId":"c"}}`, SendForceClose, ""},
		{"join", `{"type":"ROOM_JOIN","payload":{"roomName":"lobby","roomType":"sfu"}}`, RoomJoin, ""},
		{"join escaped name", `{"type":"ROOM_JOIN","payload":{"roomName":"caf\u00e9","roomType":"mesh"}}`, RoomJoin, ""},
		{"leave", `{"type":"ROOM_LEAVE","payload":{"roomName":"lobby"}}`, RoomLeave, ""},
		{"users", `{"type":"ROOM_GET_USERS","payload":{"roomName":"lobby"}}`, RoomGetUsers, ""},
		{"logs", `{"type":"ROOM_GET_LOGS","payload":{"roomName":"lobby"}}`, RoomGetLogs, ""},
		{"room data", `{"type":"ROOM_SEND_DATA","payload":{"roomName":"lobby","data":{"text":"hi"}}}`, RoomSendData, ""},
		{"ping", `{"type":"PING"}`, Ping, ""},
		{"ping with payload", `{"type":"PING","payload":{}}`, Ping, ""},
		{"credential", `{"type":"UPDATE_CREDENTIAL","payload":{"timestamp":1700000000,"ttl":3600,"authToken":"abc="}}`, UpdateCredential, ""},
		{"sfu get offer", `{"type":"SFU_GET_OFFER","payload":{"roomName":"r"}}`, SFUGetOffer, ""},
		{"sfu get offer options", `{"type":"SFU_GET_OFFER","payload":{"roomName":"r","videoReceiveEnabled":false,"audioReceiveEnabled":true}}`, SFUGetOffer, ""},
		{"sfu answer", `{"type":"SFU_ANSWER","payload":{"roomName":"r","answer":{"type":"answer","sdp":"v=0\r\n"}}}`, SFUAnswer, ""},
		{"sfu candidate", `{"type":"SFU_CANDIDATE","payload":{"roomName":"r","candidate":{"candidate":""}}}`, SFUCandidate, ""},
		{"sfu answer missing", `{"type":"SFU_ANSWER","payload":{"roomName":"r"}}`, SFUAnswer, `missing field "answer"`},
		{"sfu candidate without room", `{"type":"SFU_CANDIDATE","payload":{"candidate":{}}}`, SFUCandidate, `missing field "roomName"`},
		{"sfu answer with offer", `{"type":"SFU_ANSWER","payload":{"roomName":"r","answer":{"type":"answer","sdp":""},"offer":{"type":"offer","sdp":""}}}`, SFUAnswer, `"offer" belongs to another`},
		{"sfu receive not bool", `{"type":"SFU_GET_OFFER","payload":{"roomName":"r","videoReceiveEnabled":0}}`, SFUGetOffer, `"videoReceiveEnabled" is a number, want a boolean`},

		{"not json", `{"type":`, "", "malformed JSON"},
		{"array", `[1]`, "", "not an object"},
		{"no type", `{"payload":{}}`, "", `missing field "type"`},
		{"numeric type", `{"type":1}`, "", `"type" is a number`},
		{"unknown type", `{"type":"OFFER","payload":{}}`, "", `unknown message type "OFFER"`},
		{"duplicate type", `{"type":"PING","type":"PING"}`, "", `duplicate field "type"`},
		{"payload not object", `{"type":"PING","payload":"x"}`, "", `"payload" is a string`},
		{"missing dst", `{"type":"SEND_FORCE_CLOSE","payload":{"connectionId":"c"}}`, SendForceClose, `missing field "dst"`},
		{"missing offer", `{"type":"SEND_OFFER","payload":{"dst":"b","connectionId":"c","connectionType":"media"}}`, SendOffer, `missing field "offer"`},
		{"bad dst", `{"type":"SEND_FORCE_CLOSE","payload":{"dst":"a/b","connectionId":"c"}}`, SendForceClose, `"dst" is not a valid peer ID`},
		{"long escaped dst", `{"type":"SEND_FORCE_CLOSE","payload":{"dst":"` + strings.Repeat(`\u0041`, 65) + `","connectionId":"c"}}`, SendForceClose, `"dst" is not a valid peer ID`},
		{"numeric dst", `{"type":"SEND_FORCE_CLOSE","payload":{"dst":5,"connectionId":"c"}}`, SendForceClose, `"dst" is a number, want a string`},
		{"bad connection id", `{"type":"SEND_FORCE_CLOSE","payload":{"dst":"b","connectionId":"a b"}}`, SendForceClose, `"connectionId" must be`},
		{"bad connection type", `{"type":"SEND_CANDIDATE","payload":{"dst":"b","connectionId":"c","connectionType":"video","candidate":{}}}`, SendCandidate, `"connectionType" must be`},
		{"offer without sdp", `{"type":"SEND_OFFER","payload":{"dst":"b","connectionId":"c","connectionType":"media","offer":{"type":"offer"}}}`, SendOffer, `"offer" must be an object`},
		{"spoofed src", `{"type":"SEND_FORCE_CLOSE","payload":{"dst":"b","connectionId":"c","src":"mallory"}}`, SendForceClose, `"src" is set by the server`},
		{"escaped src key", `{"type":"SEND_FORCE_CLOSE","payload":{"dst":"b","connectionId":"c","\u0073rc":"mallory"}}`, SendForceClose, `"src" is set by the server`},
		{"capital src", `{"type":"SEND_FORCE_CLOSE","payload":{"dst":"b","connectionId":"c","Src":"mallory"}}`, SendForceClose, `"src" is set by the server`},
		{"long s src", `{"type":"SEND_FORCE_CLOSE","payload":{"dst":"b","connectionId":"c","ſrc":"mallory"}}`, SendForceClose, `"src" is set by the server`},
		{"folded duplicate dst", `{"type":"SEND_FORCE_CLOSE","payload":{"dst":"b","DST":"c","connectionId":"c"}}`, SendForceClose, `duplicate field "dst"`},
		{"duplicate dst", `{"type":"SEND_FORCE_CLOSE","payload":{"dst":"b","dst":"c","connectionId":"c"}}`, SendForceClose, `duplicate field "dst"`},
		{"bad room type", `{"type":"ROOM_JOIN","payload":{"roomName":"a","roomType":"p2p"}}`, RoomJoin, `"roomType" must be`},
		{"empty room name", `{"type":"ROOM_JOIN","payload":{"roomName":"","roomType":"mesh"}}`, RoomJoin, `"roomName" must be 1 to 128`},
		{"long room name", `{"type":"ROOM_LEAVE","payload":{"roomName":"` + strings.Repeat("r", 129) + `"}}`, RoomLeave, `"roomName" must be`},
		{"room data without data", `{"type":"ROOM_SEND_DATA","payload":{"roomName":"a"}}`, RoomSendData, `missing field "data"`},
		{"float ttl", `{"type":"UPDATE_CREDENTIAL","payload":{"timestamp":1,"ttl":1.5,"authToken":"a"}}`, UpdateCredential, `"ttl" must be an integer`},
		{"offer with answer", `{"type":"SEND_OFFER","payload":{"dst":"b","connectionId":"c","connectionType":"media","offer":{"type":"offer","sdp":""},"answer":{"type":"answer","sdp":""}}}`, SendOffer, `field "answer" belongs to another message type`},
		{"text room data too big", `{"type":"ROOM_SEND_DATA","payload":{"roomName":"r","data":"` + strings.Repeat("d", MaxRoomDataSize) + `"}}`, RoomSendData, "over the 20971520-byte limit"},
		{"too big", big, SendCandidate, "over the 131072-byte limit"},
		{"bad utf8", "{\"type\":\"PING\",\"x\":\"\xff\"}", "", "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var m ClientMessage
			err := Parse(&m, []byte(tt.frame), false)
			if m.Type != tt.typ {
				t.Errorf("Type = %q, want %q", m.Type, tt.typ)
			}
			if tt.err == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			var pe *ProtocolError
			if !errors.As(err, &pe) || pe.Type != ErrInvalidMessage || !strings.Contains(pe.Message, tt.err) {
				t.Fatalf("Parse error = %v, want invalid-message containing %q", err, tt.err)
			}
		})
	}
}

func TestParseFields(t *testing.T) {
	t.Parallel()
	var m ClientMessage
	if err := Parse(&m, []byte(`{"type":"ROOM_JOIN","payload":{"roomName":"caf\u00e9 \"1\"","roomType":"sfu"}}`), false); err != nil {
		t.Fatal(err)
	}
	if string(m.RoomName) != `café "1"` || m.RoomType != SFU || string(m.RoomNameJSON) != `"caf\u00e9 \"1\""` {
		t.Fatalf("room = %q %q %q", m.RoomName, m.RoomType, m.RoomNameJSON)
	}
	if err := Parse(&m, []byte(`{"type":"UPDATE_CREDENTIAL","payload":{"timestamp":1700000000,"ttl":3600,"authToken":"tok"}}`), false); err != nil {
		t.Fatal(err)
	}
	if want := (Credential{Timestamp: 1700000000, TTL: 3600, AuthToken: "tok"}); m.Credential != want {
		t.Fatalf("credential = %+v, want %+v", m.Credential, want)
	}
}

func TestAppendRelay(t *testing.T) {
	t.Parallel()
	var m ClientMessage
	if err := Parse(&m, []byte(offerJSON), false); err != nil {
		t.Fatal(err)
	}
	out := AppendRelay(nil, &m, "alice")
	var env Envelope
	if err := json.Unmarshal(out, &env); err != nil {
		t.Fatalf("relayed message %s is not JSON: %v", out, err)
	}
	var r RelayPayload
	if err := json.Unmarshal(env.Payload, &r); err != nil {
		t.Fatal(err)
	}
	if env.Type != Offer || r.Src != "alice" || r.Dst != "bob" || r.ConnectionID != "mc_1" || r.Offer.SDP != "v=0\r\n" || string(r.Metadata) != `{"n":[1,2]}` {
		t.Fatalf("relayed %s as %+v", out, r)
	}
	if !strings.Contains(string(env.Payload), `"browser":"chrome"`) {
		t.Fatalf("unknown field not relayed: %s", out)
	}
}

func TestAppendRoomData(t *testing.T) {
	t.Parallel()
	var m ClientMessage
	if err := Parse(&m, []byte(`{"type":"ROOM_SEND_DATA","payload":{"roomName":"r\u00e9","data":[1,"two",{"3":null}]}}`), false); err != nil {
		t.Fatal(err)
	}
	var env Envelope
	var p RoomDataPayload
	out := AppendRoomData(nil, &m, "alice")
	if err := json.Unmarshal(out, &env); err != nil || env.Type != RoomData {
		t.Fatalf("%s: %v", out, err)
	}
	if err := json.Unmarshal(env.Payload, &p); err != nil || p.RoomName != "ré" || p.Src != "alice" || string(p.Data) != `[1,"two",{"3":null}]` {
		t.Fatalf("payload %+v, %v", p, err)
	}

	data := []byte{0, 1, 2, 0xff}
	frame := BinaryFrame([]byte(`{"type":"ROOM_SEND_DATA","payload":{"roomName":"r"}}`), data)
	if err := Parse(&m, frame, true); err != nil {
		t.Fatal(err)
	}
	out = AppendRoomData(nil, &m, "alice")
	header, got, err := SplitBinaryFrame(out)
	if err != nil || string(got) != string(data) {
		t.Fatalf("binary data = %v, %v", got, err)
	}
	if err := json.Unmarshal(header, &env); err != nil || json.Unmarshal(env.Payload, &p) != nil || p.Src != "alice" || p.RoomName != "r" || env.Type != RoomData {
		t.Fatalf("binary header %s: %v", header, err)
	}
}

// TestRoomDataInPlace: the frame made in the read buffer is the one
// AppendRoomData makes, whatever precedes or follows the data, and a header
// that cannot fit leaves the buffer alone.
func TestRoomDataInPlace(t *testing.T) {
	t.Parallel()
	long := strings.Repeat(`\ud83d\ude00`, MaxRoomNameLength/2) // escaped, as long as a name may be sent
	src := strings.Repeat("p", MaxPeerIDLength)
	tests := []struct {
		name     string
		frame    []byte
		binary   bool
		headroom int
		ok       bool
	}{
		{"text, name first", []byte(`{"type":"ROOM_SEND_DATA","payload":{"roomName":"r","data":{"a":[1,2,"}}"]}}}`), false, RoomDataHeadroom, true},
		{"text, data first", []byte(`{"payload":{"data":"xyz","roomName":"r"},"type":"ROOM_SEND_DATA"}`), false, RoomDataHeadroom, true},
		{"text, longest name", []byte(`{"type":"ROOM_SEND_DATA","payload":{"data":1,"roomName":"` + long + `"}}`), false, RoomDataHeadroom, true},
		{"binary", BinaryFrame([]byte(`{"type":"ROOM_SEND_DATA","payload":{"roomName":"r"}}`), []byte{0, 1, 2, 0xff}), true, RoomDataHeadroom, true},
		{"binary, longest name", BinaryFrame([]byte(`{"type":"ROOM_SEND_DATA","payload":{"roomName":"`+long+`"}}`), []byte{9}), true, RoomDataHeadroom, true},
		{"no headroom", []byte(`{"payload":{"data":"xyz","roomName":"r"},"type":"ROOM_SEND_DATA"}`), false, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			buf := append(make([]byte, tt.headroom), tt.frame...)
			var m ClientMessage
			if err := Parse(&m, buf[tt.headroom:], tt.binary); err != nil {
				t.Fatal(err)
			}
			want := AppendRoomData(nil, &m, src)
			before := string(buf)
			got, ok := RoomDataInPlace(buf, &m, src)
			switch {
			case ok != tt.ok:
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			case !ok && string(buf) != before:
				t.Fatal("a refusal changed the buffer")
			case ok && string(got) != string(want):
				t.Fatalf("in place:\n%q\nAppendRoomData:\n%q", got, want)
			}
		})
	}
	// Data that is not a part of the buffer.
	var m ClientMessage
	if err := Parse(&m, []byte(`{"type":"ROOM_SEND_DATA","payload":{"roomName":"r","data":1}}`), false); err != nil {
		t.Fatal(err)
	}
	if _, ok := RoomDataInPlace(make([]byte, 4096), &m, "a"); ok {
		t.Fatal("made a frame around data outside the buffer")
	}
}

func TestParseBinary(t *testing.T) {
	t.Parallel()
	hdr := []byte(`{"type":"ROOM_SEND_DATA","payload":{"roomName":"r"}}`)
	tests := []struct {
		name  string
		frame []byte
		err   string
	}{
		{"ok", BinaryFrame(hdr, []byte("data")), ""},
		{"empty data", BinaryFrame(hdr, nil), ""},
		{"short", []byte{0, 0}, "shorter than"},
		{"header too long", append([]byte{0, 0, 0xff, 0xff}, hdr...), "out of range"},
		{"not room data", BinaryFrame([]byte(`{"type":"PING"}`), nil), "only ROOM_SEND_DATA"},
		{"data in header", BinaryFrame([]byte(`{"type":"ROOM_SEND_DATA","payload":{"roomName":"r","data":1}}`), nil), "not in field"},
		{"too much data", BinaryFrame(hdr, make([]byte, MaxRoomDataSize+1)), "over the"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var m ClientMessage
			err := Parse(&m, tt.frame, true)
			if (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("Parse = %v, want error containing %q", err, tt.err)
			}
		})
	}
}

func TestParseAllocatesNothing(t *testing.T) {
	var m ClientMessage
	frame := []byte(offerJSON)
	buf := make([]byte, 0, 1024)
	allocs := testing.AllocsPerRun(100, func() {
		if err := Parse(&m, frame, false); err != nil {
			t.Fatal(err)
		}
		buf = AppendRelay(buf[:0], &m, "alice")
	})
	if allocs != 0 {
		t.Fatalf("Parse+AppendRelay allocated %v times per message, want 0", allocs)
	}
}

func BenchmarkParseRelay(b *testing.B) {
	var m ClientMessage
	frame := []byte(offerJSON)
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if err := Parse(&m, frame, false); err != nil {
			b.Fatal(err)
		}
		buf = AppendRelay(buf[:0], &m, "alice")
	}
}

// FuzzParse feeds arbitrary frames to Parse. It must never panic, and what
// it accepts must relay as valid JSON whose src is the server's.
func FuzzParse(f *testing.F) {
	for _, s := range []string{offerJSON, `{"type":"PING"}`, `{"type":"ROOM_SEND_DATA","payload":{"roomName":"a","data":"x"}}`,
		`{"type":"SEND_FORCE_CLOSE","payload":{"dst":"b","connectionId":"c"}}`, `{"type":"ROOM_JOIN","payload":{"roomName":"\u00e9","roomType":"mesh"}}`,
		`{"type":"SFU_GET_OFFER","payload":{"roomName":"r","videoReceiveEnabled":false}}`,
		`{"type":"SFU_ANSWER","payload":{"roomName":"r","answer":{"type":"answer","sdp":"v=0"}}}`} {
		f.Add([]byte(s), false)
	}
	f.Add(BinaryFrame([]byte(`{"type":"ROOM_SEND_DATA","payload":{"roomName":"r"}}`), []byte{1, 2}), true)
	f.Fuzz(func(t *testing.T, frame []byte, binary bool) {
		var m ClientMessage
		if err := Parse(&m, frame, binary); err != nil {
			var pe *ProtocolError
			if !errors.As(err, &pe) || pe.Type != ErrInvalidMessage {
				t.Fatalf("Parse error %v is not invalid-message", err)
			}
			return
		}
		var out []byte
		switch {
		case m.Type == RoomSendData:
			out = AppendRoomData(nil, &m, "srv")
			// The same frame made in place, in a copy with headroom.
			buf := append(make([]byte, RoomDataHeadroom), frame...)
			var in ClientMessage
			if Parse(&in, buf[RoomDataHeadroom:], binary) != nil {
				t.Fatal("a frame parsed once and not twice")
			}
			if got, ok := RoomDataInPlace(buf, &in, "srv"); ok != (len(in.Data) > 0) || ok && string(got) != string(out) {
				t.Fatalf("RoomDataInPlace = %q, %v; want %q", got, ok, out)
			}
			if m.Binary {
				if out, _, _ = SplitBinaryFrame(out); out == nil {
					t.Fatal("binary room data lost its header")
				}
			}
		default:
			if _, ok := m.Type.Relayed(); !ok {
				return
			}
			out = AppendRelay(nil, &m, "srv")
		}
		var env struct {
			Payload map[string]json.RawMessage `json:"payload"`
		}
		if err := json.Unmarshal(out, &env); err != nil {
			t.Fatalf("output %q of %q is not JSON: %v", out, frame, err)
		}
		if string(env.Payload["src"]) != `"srv"` {
			t.Fatalf("output %q of %q has src %s", out, frame, env.Payload["src"])
		}
	})
}

func TestParseReceiveOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		payload          string
		noVideo, noAudio bool
	}{
		{`{"roomName":"r"}`, false, false},
		{`{"roomName":"r","videoReceiveEnabled":false}`, true, false},
		{`{"roomName":"r","audioReceiveEnabled":false,"videoReceiveEnabled":true}`, false, true},
	} {
		var m ClientMessage
		if err := Parse(&m, []byte(`{"type":"SFU_GET_OFFER","payload":`+tc.payload+`}`), false); err != nil {
			t.Fatal(err)
		}
		if m.NoVideoReceive != tc.noVideo || m.NoAudioReceive != tc.noAudio {
			t.Errorf("%s: no video %v, no audio %v; want %v, %v", tc.payload, m.NoVideoReceive, m.NoAudioReceive, tc.noVideo, tc.noAudio)
		}
	}
}
