//go:build !js

package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/sdk"
)

// videoTrack makes a VP8 track to send; the application writes its encoded
// frames to it with WriteSample.
func videoTrack(streamID string) *webrtc.TrackLocalStaticSample {
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", streamID)
	if err != nil {
		log.Fatal(err)
	}
	return track
}

// A bot that answers every call with its video and echoes every value it
// receives on a data connection.
func ExampleNewPeer() {
	peer, err := sdk.NewPeer(sdk.PeerOptions{
		Key: "0f6a7c3e-1d2b-4c5a-9e8f-112233445566",
		URL: "http://localhost:8080",
		ID:  "echo-bot",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer peer.Destroy()

	stream := sdk.NewMediaStream(videoTrack("echo-bot"))

	peer.OnCall(func(call *sdk.MediaConnection) {
		call.OnStream(func(s *sdk.MediaStream) {
			fmt.Println("receiving", len(s.RemoteTracks()), "tracks from", call.RemoteID())
		})
		_ = call.Answer(stream, nil)
	})
	peer.OnConnection(func(dc *sdk.DataConnection) {
		dc.OnData(func(v any) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = dc.Send(ctx, v)
		})
	})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	id, err := peer.WaitOpen(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("open as", id)
}

// Sending a file over a data connection: Send returns once the channel has
// taken it, holding at most about 1 MiB in flight.
func ExamplePeer_Connect() {
	peer, err := sdk.NewPeer(sdk.PeerOptions{Key: "0f6a7c3e-1d2b-4c5a-9e8f-112233445566", URL: "http://localhost:8080"})
	if err != nil {
		log.Fatal(err)
	}
	defer peer.Destroy()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := peer.WaitOpen(ctx); err != nil {
		log.Fatal(err)
	}
	dc, err := peer.Connect("echo-bot", &sdk.ConnectOptions{Label: "files"})
	if err != nil {
		log.Fatal(err)
	}
	opened := make(chan struct{})
	dc.OnOpen(func() { close(opened) })
	<-opened
	err = dc.Send(ctx, sdk.File{Name: "notes.txt", Type: "text/plain", Data: []byte("hello")})
	fmt.Println("sent:", err == nil)
}

// A bot that joins an SFU room, publishes its video, and says
// whose streams it receives and what the others say.
func ExamplePeer_JoinRoom() {
	peer, err := sdk.NewPeer(sdk.PeerOptions{
		Key: "0f6a7c3e-1d2b-4c5a-9e8f-112233445566",
		URL: "http://localhost:8080",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer peer.Destroy()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := peer.WaitOpen(ctx); err != nil {
		log.Fatal(err)
	}

	stream := sdk.NewMediaStream(videoTrack("room-bot"))
	room, err := peer.JoinRoom("stage", &sdk.RoomOptions{Mode: sdk.RoomModeSFU, Stream: stream})
	if err != nil {
		log.Fatal(err)
	}
	room.OnOpen(func() {
		fmt.Println("in the room with", room.Members())
		_ = room.Send(map[string]any{"hello": "everyone"})
	})
	room.OnStream(func(s *sdk.MediaStream) { fmt.Println("receiving", s.PeerID()) })
	room.OnData(func(d sdk.RoomData) { fmt.Println(d.Src, "says", d.Data) })
	room.OnPeerLeave(func(id string) { fmt.Println(id, "left") })
	time.Sleep(time.Minute)
	room.Close()
}

// Errors carry SkyWay's type: a call to a peer that is not there fails with
// ErrorPeerUnavailable, reported to the Peer's error handler, as in SkyWay.
func ExampleError() {
	peer, err := sdk.NewPeer(sdk.PeerOptions{Key: "0f6a7c3e-1d2b-4c5a-9e8f-112233445566", URL: "http://localhost:8080"})
	if err != nil {
		log.Fatal(err)
	}
	defer peer.Destroy()
	peer.OnError(func(err error) {
		var e *sdk.Error
		if errors.As(err, &e) && e.Type == sdk.ErrorPeerUnavailable {
			fmt.Println("nobody there")
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := peer.WaitOpen(ctx); err != nil {
		log.Fatal(err)
	}
	if _, err := peer.Call("nobody", nil, nil); errors.Is(err, &sdk.Error{Type: sdk.ErrorDisconnected}) {
		fmt.Println("not connected")
	}
}
