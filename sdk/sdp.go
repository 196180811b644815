package sdk

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// sdpText is a session description as its lines, without their line ends:
// the session part and one part per media section, each starting with its
// m= line. The SDK's edits only drop, add and rewrite whole lines, so this
// is all the parsing they need; a full SDP parser (pion/sdp) costs the
// browser module 29 KiB of brotli for the same edits.
type sdpText struct {
	session []string
	media   [][]string
}

// parseSDP splits raw into lines and sections. Like the browser, it takes
// lines ended by CRLF or LF; a description that does not start with v= or
// has a line that is not type=value is an error.
func parseSDP(raw string) (sdpText, error) {
	var d sdpText
	for _, line := range strings.Split(raw, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			continue
		}
		first := d.session == nil
		if len(line) < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z' || first != (line[0] == 'v') {
			return sdpText{}, fmt.Errorf("failed to parse SDP: bad line %q", line)
		}
		switch {
		case line[0] == 'm':
			d.media = append(d.media, []string{line})
		case len(d.media) > 0:
			d.media[len(d.media)-1] = append(d.media[len(d.media)-1], line)
		default:
			d.session = append(d.session, line)
		}
	}
	return d, nil
}

// String writes the description back, each line ended by CRLF.
func (d sdpText) String() string {
	var b strings.Builder
	for _, part := range append([][]string{d.session}, d.media...) {
		for _, line := range part {
			b.WriteString(line)
			b.WriteString("\r\n")
		}
	}
	return b.String()
}

// sdpKind is the media type of a section ("audio", "video", ...).
func sdpKind(section []string) string {
	kind, _, _ := strings.Cut(strings.TrimPrefix(section[0], "m="), " ")
	return kind
}

// sdpAttr splits "a=rtpmap:96 VP8/90000" into "rtpmap" and
// "96 VP8/90000"; ok is false for a line that is not an attribute.
func sdpAttr(line string) (key, value string, ok bool) {
	attr, ok := strings.CutPrefix(line, "a=")
	if !ok {
		return "", "", false
	}
	key, value, _ = strings.Cut(attr, ":")
	return key, value, true
}

// keepCodec rewrites sdp so that its media sections of kind ("video" or
// "audio") offer only codec (an encoding name such as "VP9" or "opus") and
// its retransmission format, as SkyWay's videoCodec and audioCodec did. A
// section of kind without the codec is an error.
func keepCodec(raw, kind, codec string) (string, error) {
	if codec == "" {
		return raw, nil
	}
	d, err := parseSDP(raw)
	if err != nil {
		return "", err
	}
	for i, m := range d.media {
		if sdpKind(m) != kind {
			continue
		}
		keep := map[string]bool{}
		for _, line := range m {
			if pt, name, ok := rtpmap(line); ok && strings.EqualFold(name, codec) {
				keep[pt] = true
			}
		}
		if len(keep) == 0 {
			return "", fmt.Errorf("%w: %s codec %q is not offered", ErrUnsupportedCodec, kind, codec)
		}
		for _, line := range m { // the RTX of a kept format
			if key, value, _ := sdpAttr(line); key == "fmtp" {
				pt, params, _ := strings.Cut(value, " ")
				if apt, ok := strings.CutPrefix(params, "apt="); ok && keep[apt] {
					keep[pt] = true
				}
			}
		}
		// m=<media> <port> <proto> <format>...
		fields := strings.Fields(m[0])
		mline := fields[:min(len(fields), 3)]
		for _, f := range fields[len(mline):] {
			if keep[f] {
				mline = append(mline, f)
			}
		}
		lines := []string{strings.Join(mline, " ")}
		for _, line := range m[1:] {
			switch key, value, _ := sdpAttr(line); key {
			case "rtpmap", "fmtp", "rtcp-fb":
				if pt, _, _ := strings.Cut(value, " "); !keep[pt] {
					continue
				}
			}
			lines = append(lines, line)
		}
		d.media[i] = lines
	}
	return d.String(), nil
}

// rtpmap splits "a=rtpmap:96 VP8/90000" into "96" and "VP8".
func rtpmap(line string) (pt, name string, ok bool) {
	key, value, _ := sdpAttr(line)
	if key != "rtpmap" {
		return "", "", false
	}
	pt, rest, ok := strings.Cut(value, " ")
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
	d, err := parseSDP(raw)
	if err != nil {
		return "", err
	}
	for i, m := range d.media {
		if sdpKind(m) != kind {
			continue
		}
		// A section's lines come in the order m, i, c, b, k, a: the new
		// b= line goes after the other bandwidths.
		lines := make([]string, 1, len(m)+1)
		lines[0] = m[0]
		bw := "b=AS:" + strconv.Itoa(kbps)
		for _, line := range m[1:] {
			if bw != "" && strings.IndexByte("icb", line[0]) < 0 {
				lines, bw = append(lines, bw), ""
			}
			if !strings.HasPrefix(line, "b=AS:") && !strings.HasPrefix(line, "b=TIAS:") {
				lines = append(lines, line)
			}
		}
		if bw != "" {
			lines = append(lines, bw)
		}
		d.media[i] = lines
	}
	return d.String(), nil
}

// sendingStreams counts, per stream ID, the tracks that the author of sdp
// sends: its send-capable sections' a=msid lines.
func sendingStreams(raw string) map[string]int {
	d, err := parseSDP(raw)
	if err != nil {
		return nil
	}
	counts := map[string]int{}
	for _, m := range d.media {
		if slices.Contains(m, "a=recvonly") || slices.Contains(m, "a=inactive") {
			continue
		}
		for _, line := range m {
			if key, value, _ := sdpAttr(line); key == "msid" {
				stream, _, _ := strings.Cut(value, " ")
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
