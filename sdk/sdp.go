package sdk

import (
	"fmt"
	"strings"

	"github.com/pion/sdp/v3"
)

// keepCodec rewrites sdp so that its media sections of kind ("video" or
// "audio") offer only codec (an encoding name such as "VP9" or "opus") and
// its retransmission format, as SkyWay's videoCodec and audioCodec did. A
// section of kind without the codec is an error.
func keepCodec(raw, kind, codec string) (string, error) {
	if codec == "" {
		return raw, nil
	}
	var s sdp.SessionDescription
	if err := s.UnmarshalString(raw); err != nil {
		return "", fmt.Errorf("failed to parse SDP: %w", err)
	}
	for _, m := range s.MediaDescriptions {
		if m.MediaName.Media != kind {
			continue
		}
		keep := map[string]bool{}
		for _, a := range m.Attributes {
			if pt, name, ok := rtpmap(a); ok && strings.EqualFold(name, codec) {
				keep[pt] = true
			}
		}
		if len(keep) == 0 {
			return "", fmt.Errorf("%w: %s codec %q is not offered", ErrUnsupportedCodec, kind, codec)
		}
		for _, a := range m.Attributes { // the RTX of a kept format
			if a.Key == "fmtp" {
				pt, params, _ := strings.Cut(a.Value, " ")
				if apt, ok := strings.CutPrefix(params, "apt="); ok && keep[apt] {
					keep[pt] = true
				}
			}
		}
		formats := m.MediaName.Formats[:0]
		for _, f := range m.MediaName.Formats {
			if keep[f] {
				formats = append(formats, f)
			}
		}
		m.MediaName.Formats = formats
		attrs := m.Attributes[:0]
		for _, a := range m.Attributes {
			switch a.Key {
			case "rtpmap", "fmtp", "rtcp-fb":
				if pt, _, _ := strings.Cut(a.Value, " "); !keep[pt] {
					continue
				}
			}
			attrs = append(attrs, a)
		}
		m.Attributes = attrs
	}
	out, err := s.Marshal()
	if err != nil {
		return "", fmt.Errorf("failed to write SDP: %w", err)
	}
	return string(out), nil
}

// rtpmap splits "a=rtpmap:96 VP8/90000" into "96" and "VP8".
func rtpmap(a sdp.Attribute) (pt, name string, ok bool) {
	if a.Key != "rtpmap" {
		return "", "", false
	}
	pt, rest, ok := strings.Cut(a.Value, " ")
	name, _, _ = strings.Cut(rest, "/")
	return pt, name, ok
}

// limitBandwidth sets b=AS (kbit/s) on the media sections of kind, as
// SkyWay's videoBandwidth and audioBandwidth did. It is applied to the
// remote description, which is where a sender reads how much the far side
// is willing to receive.
func limitBandwidth(raw, kind string, kbps int) (string, error) {
	if kbps <= 0 {
		return raw, nil
	}
	var s sdp.SessionDescription
	if err := s.UnmarshalString(raw); err != nil {
		return "", fmt.Errorf("failed to parse SDP: %w", err)
	}
	for _, m := range s.MediaDescriptions {
		if m.MediaName.Media != kind {
			continue
		}
		bw := m.Bandwidth[:0]
		for _, b := range m.Bandwidth {
			if b.Type != "AS" && b.Type != "TIAS" {
				bw = append(bw, b)
			}
		}
		m.Bandwidth = append(bw, sdp.Bandwidth{Type: "AS", Bandwidth: uint64(kbps)})
	}
	out, err := s.Marshal()
	if err != nil {
		return "", fmt.Errorf("failed to write SDP: %w", err)
	}
	return string(out), nil
}

// sendingStreams counts, per stream ID, the tracks that the author of sdp
// sends: its send-capable sections' a=msid lines.
func sendingStreams(raw string) map[string]int {
	var s sdp.SessionDescription
	if s.UnmarshalString(raw) != nil {
		return nil
	}
	counts := map[string]int{}
	for _, m := range s.MediaDescriptions {
		sends := true
		for _, a := range m.Attributes {
			if a.Key == "recvonly" || a.Key == "inactive" {
				sends = false
			}
		}
		if !sends {
			continue
		}
		for _, a := range m.Attributes {
			if a.Key == "msid" {
				stream, _, _ := strings.Cut(a.Value, " ")
				if stream != "-" && stream != "" {
					counts[stream]++
				}
			}
		}
	}
	return counts
}

// sdpFingerprint returns the value of a description's first
// a=fingerprint line (its DTLS certificate's hash), or "".
func sdpFingerprint(raw string) string {
	const attr = "a=fingerprint:"
	i := strings.Index(raw, attr)
	if i < 0 {
		return ""
	}
	line := raw[i+len(attr):]
	if j := strings.IndexAny(line, "\r\n"); j >= 0 {
		line = line[:j]
	}
	return line
}
