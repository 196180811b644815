//go:build !js

package sdk

import (
	"testing"
	"time"

	"github.com/coder/websocket"
)

// FuzzServerMessage feeds a Peer what a server (or anything posing as one)
// might send: nothing may panic, and whatever it creates must close.
func FuzzServerMessage(f *testing.F) {
	for _, seed := range []string{
		`{"type":"OPEN","payload":{"peerId":"me"}}`,
		`{"type":"ERROR","payload":{"type":"peer-unavailable","message":"x","dst":"bob","connectionId":"dc_1"}}`,
		`{"type":"OFFER","payload":{"src":"bob","connectionId":"dc_1","connectionType":"data","offer":{"type":"offer","sdp":"v=0\r\n"},"serialization":"json","dcInit":{"ordered":false}}}`,
		`{"type":"OFFER","payload":{"src":"bob","connectionId":"mc_1","connectionType":"media","offer":{"type":"offer","sdp":""},"metadata":[1]}}`,
		`{"type":"ANSWER","payload":{"src":"bob","connectionId":"dc_9","answer":{"type":"answer","sdp":"x"}}}`,
		`{"type":"CANDIDATE","payload":{"src":"bob","connectionId":"dc_9","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host"}}}`,
		`{"type":"CANDIDATE","payload":{"src":"bob","connectionId":"dc_9","candidate":"not an object"}}`,
		`{"type":"FORCE_CLOSE","payload":{"src":"bob","connectionId":"dc_1"}}`,
		`{"type":"LEAVE","payload":{"src":"bob"}}`,
		`{"type":"AUTH_EXPIRES_IN","payload":{"seconds":"soon"}}`,
		`{"type":"ROOM_DATA","payload":{}}`,
		`[]`, `{"type":7}`, `{"type":"OPEN","payload":null}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		p, err := NewPeer(PeerOptions{
			Key: "0f6a7c3e-1d2b-4c5a-9e8f-112233445566", URL: "http://127.0.0.1:1",
			NoReconnect: true, ReconnectDelay: time.Hour,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Destroy()
		p.dispatch(websocket.MessageText, frame)
		p.dispatch(websocket.MessageText, frame) // the same again: a renegotiation, a duplicate
		p.dispatch(websocket.MessageBinary, frame)
	})
}
