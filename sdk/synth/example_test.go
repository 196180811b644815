//go:build !js

package synth_test

import (
	"fmt"
	"log"

	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/sdk/synth"
)

// A bot publishes a test pattern and silence by adding the source's tracks
// to its PeerConnection before negotiating.
func ExampleStart() {
	src, err := synth.Start(synth.Options{StreamID: "bot-1", Label: "bot 1"})
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()

	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		log.Fatal(err)
	}
	defer pc.Close()
	for _, track := range src.Tracks() {
		if _, err := pc.AddTrack(track); err != nil {
			log.Fatal(err)
		}
		fmt.Println(track.Kind(), track.ID(), track.StreamID())
	}
	// Then create an offer and signal it as usual.

	// Output:
	// video video bot-1
	// audio audio bot-1
}
