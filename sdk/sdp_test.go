package sdk

import (
	"errors"
	"strings"
	"testing"
)

// offerSDP is a trimmed Chromium offer: audio with opus and PCMU, video with
// VP8, VP9 and their RTX formats.
const offerSDP = "v=0\r\n" +
	"o=- 1 2 IN IP4 127.0.0.1\r\n" +
	"s=-\r\n" +
	"t=0 0\r\n" +
	"a=group:BUNDLE 0 1\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\n" +
	"c=IN IP4 0.0.0.0\r\n" +
	"a=mid:0\r\n" +
	"a=sendrecv\r\n" +
	"a=msid:stream-a track-a\r\n" +
	"a=rtpmap:111 opus/48000/2\r\n" +
	"a=fmtp:111 minptime=10;useinbandfec=1\r\n" +
	"a=rtpmap:0 PCMU/8000\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99\r\n" +
	"c=IN IP4 0.0.0.0\r\n" +
	"b=AS:5000\r\n" +
	"a=mid:1\r\n" +
	"a=sendrecv\r\n" +
	"a=msid:stream-a track-v\r\n" +
	"a=rtpmap:96 VP8/90000\r\n" +
	"a=rtcp-fb:96 nack pli\r\n" +
	"a=rtpmap:97 rtx/90000\r\n" +
	"a=fmtp:97 apt=96\r\n" +
	"a=rtpmap:98 VP9/90000\r\n" +
	"a=fmtp:98 profile-id=0\r\n" +
	"a=rtpmap:99 rtx/90000\r\n" +
	"a=fmtp:99 apt=98\r\n"

func TestKeepCodec(t *testing.T) {
	t.Parallel()
	out, err := keepCodec(offerSDP, "video", "vp9")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "m=video 9 UDP/TLS/RTP/SAVPF 98 99\r\n") {
		t.Errorf("video formats not reduced to VP9 and its RTX:\n%s", out)
	}
	for _, gone := range []string{"VP8/90000", "apt=96", "rtcp-fb:96"} {
		if strings.Contains(out, gone) {
			t.Errorf("%q survived", gone)
		}
	}
	if !strings.Contains(out, "m=audio 9 UDP/TLS/RTP/SAVPF 111 0") {
		t.Errorf("audio changed:\n%s", out)
	}
	if _, err := keepCodec(offerSDP, "video", "H264"); !errors.Is(err, ErrUnsupportedCodec) {
		t.Errorf("an absent codec: %v", err)
	}
	if out, err := keepCodec(offerSDP, "video", ""); err != nil || out != offerSDP {
		t.Errorf("no codec changed the SDP: %v", err)
	}
}

func TestLimitBandwidth(t *testing.T) {
	t.Parallel()
	out, err := limitBandwidth(offerSDP, "video", 300)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "b=AS:5000") || strings.Count(out, "b=AS:300\r\n") != 1 {
		t.Errorf("video bandwidth not replaced:\n%s", out)
	}
	out, err = limitBandwidth(offerSDP, "audio", 32)
	if err != nil || !strings.Contains(out, "b=AS:32\r\n") || !strings.Contains(out, "b=AS:5000") {
		t.Errorf("audio bandwidth: %v\n%s", err, out)
	}
}

func TestSendingStreams(t *testing.T) {
	t.Parallel()
	if got := sendingStreams(offerSDP); got["stream-a"] != 2 || len(got) != 1 {
		t.Errorf("sendingStreams = %v", got)
	}
	recvonly := strings.ReplaceAll(offerSDP, "a=sendrecv", "a=recvonly")
	if got := sendingStreams(recvonly); len(got) != 0 {
		t.Errorf("a receive-only description sends %v", got)
	}
}

// FuzzSDP feeds the far side's descriptions, which the SDK edits before
// applying them, to every SDP rewrite: none may panic.
func FuzzSDP(f *testing.F) {
	f.Add(offerSDP, "VP8", 100)
	f.Add("v=0\r\nm=video 9 RTP 96\r\na=rtpmap:96\r\na=fmtp:97 apt=\r\n", "x", 1)
	f.Add("", "", 0)
	f.Fuzz(func(t *testing.T, sdp, codec string, kbps int) {
		for _, kind := range []string{"audio", "video"} {
			_, _ = keepCodec(sdp, kind, codec)
			_, _ = limitBandwidth(sdp, kind, kbps)
		}
		_ = sendingStreams(sdp)
	})
}
