//go:build !js

package sdk

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

var kinds = [...]webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo}

// attachStream adds a local stream's tracks to pc; an offer also gets a
// receive-only transceiver for each kind it receives but does not send.
func attachStream(pc *webrtc.PeerConnection, s *MediaStream, d directions) error {
	if s != nil {
		for _, t := range s.local {
			var sender *webrtc.RTPSender
			if d.offering {
				dir := webrtc.RTPTransceiverDirectionSendrecv
				if !d.receives(t.Kind().String()) {
					dir = webrtc.RTPTransceiverDirectionSendonly
				}
				tr, err := pc.AddTransceiverFromTrack(t, webrtc.RTPTransceiverInit{Direction: dir})
				if err != nil {
					return err
				}
				sender = tr.Sender()
			} else {
				var err error
				if sender, err = pc.AddTrack(t); err != nil {
					return err
				}
			}
			go readRTCP(sender)
		}
	}
	if d.offering {
		for _, kind := range kinds {
			if !s.hasKind(kind) && d.receives(kind.String()) {
				if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{
					Direction: webrtc.RTPTransceiverDirectionRecvonly,
				}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// readRTCP reads a sender's RTCP until the PeerConnection closes: pion's
// interceptors (NACK responses, reports) act on what is read.
func readRTCP(s *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := s.Read(buf); err != nil {
			return
		}
	}
}

// streamWait is how long a remote stream waits for the rest of its tracks.
const streamWait = 500 * time.Millisecond

// watchRemoteStreams reports each remote stream once all the tracks the far
// side's description announces for it have arrived.
func (m *MediaConnection) watchRemoteStreams(pc *webrtc.PeerConnection) (stop func()) {
	var mu sync.Mutex
	streams := map[string]*MediaStream{}
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		m.peer.opts.Logger.Debug("remote track", "connectionId", m.id, "stream", t.StreamID(), "kind", t.Kind())
		mu.Lock()
		s := streams[t.StreamID()]
		if s == nil {
			s = &MediaStream{id: t.StreamID()}
			streams[s.id] = s
		}
		mu.Unlock()
		s.mu.Lock()
		s.remote = append(s.remote, t)
		n := len(s.remote)
		s.mu.Unlock()
		want := 1
		if rd := pc.RemoteDescription(); rd != nil {
			want = max(1, sendingStreams(rd.SDP)[s.id])
		}
		if n >= want {
			m.remoteStream(s)
		} else if n == 1 {
			// A renegotiation can announce under this stream a track that
			// pion delivered before under another (replaceTrack keeps the
			// receiver): report the stream even if that one never comes.
			time.AfterFunc(streamWait, func() { m.remoteStream(s) })
		}
	})
	return func() { pc.OnTrack(func(*webrtc.TrackRemote, *webrtc.RTPReceiver) {}) }
}

// replaceStream puts s's tracks on pc and says whether that needs a new
// offer. Natively every change does: pion's ReplaceTrack would keep the
// sender's SSRC but not its sequence numbers (each TrackLocalStaticSample
// numbers its own packets), and the far side's SRTP replay check then
// drops the new track's packets as duplicates. A track removed and added
// gets a fresh SSRC, and the far side a new stream event.
func replaceStream(_ context.Context, pc *webrtc.PeerConnection, s *MediaStream) (renegotiate bool, err error) {
	for _, kind := range kinds {
		sender, track := senderAndTrack(pc, s, kind)
		if sender != nil && sender.Track() == track {
			continue
		}
		if sender != nil {
			if err := pc.RemoveTrack(sender); err != nil {
				return false, err
			}
			renegotiate = true
		}
		if track != nil {
			snd, err := pc.AddTrack(track)
			if err != nil {
				return false, err
			}
			go readRTCP(snd)
			renegotiate = true
		}
	}
	return renegotiate, nil
}

// senderAndTrack finds pc's sender of kind that is sending a track, and
// s's track of kind; either may be nil.
func senderAndTrack(pc *webrtc.PeerConnection, s *MediaStream, kind webrtc.RTPCodecType) (*webrtc.RTPSender, webrtc.TrackLocal) {
	var sender *webrtc.RTPSender
	for _, tr := range pc.GetTransceivers() {
		if tr.Kind() == kind && tr.Sender() != nil && tr.Sender().Track() != nil {
			sender = tr.Sender()
			break
		}
	}
	var track webrtc.TrackLocal
	if s != nil {
		for _, t := range s.local {
			if t.Kind() == kind {
				track = t
				break
			}
		}
	}
	return sender, track
}

// codecSupported reports whether the default native API has codec, which
// is what pion's RegisterDefaultCodecs registers.
func codecSupported(kind, codec string) bool {
	var known []string
	switch kind {
	case "video":
		known = []string{"VP8", "VP9", "H264", "H265", "AV1"}
	case "audio":
		known = []string{"opus", "G722", "PCMU", "PCMA"}
	}
	for _, k := range known {
		if strings.EqualFold(k, codec) {
			return true
		}
	}
	return false
}

// preferCodec keeps only codec (and its retransmission format) on pc's
// transceivers of kind.
func preferCodec(pc *webrtc.PeerConnection, kind, codec string) error {
	if codec == "" {
		return nil
	}
	for _, tr := range pc.GetTransceivers() {
		if tr.Kind().String() != kind || tr.Receiver() == nil {
			continue
		}
		var keep []webrtc.RTPCodecParameters
		all := tr.Receiver().GetParameters().Codecs
		for _, c := range all {
			if strings.EqualFold(c.MimeType, kind+"/"+codec) {
				keep = append(keep, c)
			}
		}
		if len(keep) == 0 {
			return fmt.Errorf("%w: %s codec %q", ErrUnsupportedCodec, kind, codec)
		}
		for _, c := range all { // the RTX of a kept codec
			for _, k := range keep {
				if strings.EqualFold(c.MimeType, kind+"/rtx") && c.SDPFmtpLine == fmt.Sprintf("apt=%d", k.PayloadType) {
					keep = append(keep, c)
				}
			}
		}
		if err := tr.SetCodecPreferences(keep); err != nil {
			return err
		}
	}
	return nil
}
