package signaling

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/skywasm/skywasm/protocol"
	"github.com/skywasm/skywasm/server/signaling"
)

// target is one server under test: how to start it and how its protocol
// says what the load generator does. Everything else — connecting, sending,
// timing, counting — is the same code for every target, so that a
// difference in the figures is a difference between the servers.
type target struct {
	// name is how the report names the server: "skywasm",
	// "peerjs-server 1.0.2".
	name string
	// command is the server's command line, listening on 127.0.0.1:port.
	command func(port int) *exec.Cmd
	// readyPath answers HTTP 200 once the server accepts connections.
	readyPath string
	// dialURL is the WebSocket URL at which peer id connects to the server
	// at hostport.
	dialURL func(hostport, id string) string
	// checkOpen returns nil when msg, the first message on a new socket,
	// welcomes the peer, and otherwise an error saying what came instead.
	checkOpen func(msg []byte) error
	// offer is the frame that asks the server to relay an offer.
	offer frameTemplate
	// heartbeat is the client's keep-alive message.
	heartbeat []byte
}

// Placeholders in a frame, replaced per message by a frameTemplate. Neither
// can occur in the rest of a frame, and neither changes under JSON encoding.
const (
	dstHole = "DST_HOLE_51c3"
	cidHole = "CID_HOLE_51c3"
)

// frameTemplate builds a relayed offer for any destination and connection
// ID by appending the bytes around the two holes, so that the sending loop
// neither encodes JSON nor allocates: the generator shares two cores with
// the server it measures, and every cycle it spends is one the server
// does not get.
type frameTemplate struct {
	parts    [3][]byte
	dstFirst bool
}

// newFrameTemplate cuts frame at dstHole and cidHole, which it must each
// hold once.
func newFrameTemplate(frame []byte) (frameTemplate, error) {
	d, c := bytes.Index(frame, []byte(dstHole)), bytes.Index(frame, []byte(cidHole))
	if d < 0 || c < 0 || bytes.Count(frame, []byte(dstHole)) != 1 || bytes.Count(frame, []byte(cidHole)) != 1 {
		return frameTemplate{}, fmt.Errorf("frame template needs one %s and one %s: %.120s", dstHole, cidHole, frame)
	}
	t := frameTemplate{dstFirst: d < c}
	first, firstLen, second, secondLen := d, len(dstHole), c, len(cidHole)
	if !t.dstFirst {
		first, firstLen, second, secondLen = c, len(cidHole), d, len(dstHole)
	}
	t.parts = [3][]byte{frame[:first], frame[first+firstLen : second], frame[second+secondLen:]}
	return t, nil
}

// append appends the frame for dst and connection ID cid to buf.
func (t frameTemplate) append(buf []byte, dst string, cid []byte) []byte {
	buf = append(buf, t.parts[0]...)
	if t.dstFirst {
		buf = append(buf, dst...)
	} else {
		buf = append(buf, cid...)
	}
	buf = append(buf, t.parts[1]...)
	if t.dstFirst {
		buf = append(buf, cid...)
	} else {
		buf = append(buf, dst...)
	}
	return append(buf, t.parts[2]...)
}

// size is the length of a frame with an ID and connection ID of the given
// lengths.
func (t frameTemplate) size(dstLen, cidLen int) int {
	return len(t.parts[0]) + len(t.parts[1]) + len(t.parts[2]) + dstLen + cidLen
}

// The connection ID of every relayed offer carries who sent it and when:
// "sb_<sender index>_<nanoseconds since the fleet's start>". Both servers
// relay it untouched, so a receiver learns both without a clock of the
// sender's or a table of what is in flight.
const cidPrefix = "sb_"

// cidMarker finds the connection ID in a relayed frame. Both servers write
// JSON without white space between a member's name and value.
var cidMarker = []byte(`"connectionId":"` + cidPrefix)

// appendConnectionID appends the connection ID of a message from sender
// stamped at stamp.
func appendConnectionID(buf []byte, sender int, stamp int64) []byte {
	buf = append(buf, cidPrefix...)
	buf = strconv.AppendInt(buf, int64(sender), 10)
	buf = append(buf, '_')
	return strconv.AppendInt(buf, stamp, 10)
}

// parseRelayed finds the sender and stamp in a relayed offer, or reports
// that msg is not one.
func parseRelayed(msg []byte) (sender int, stamp int64, ok bool) {
	i := bytes.Index(msg, cidMarker)
	if i < 0 {
		return 0, 0, false
	}
	rest := msg[i+len(cidMarker):]
	s, rest, ok := parseDigits(rest, '_')
	if !ok {
		return 0, 0, false
	}
	t, _, ok := parseDigits(rest, '"')
	if !ok {
		return 0, 0, false
	}
	return int(s), t, true
}

// parseDigits reads a non-negative decimal number ended by end.
func parseDigits(b []byte, end byte) (n int64, rest []byte, ok bool) {
	i := 0
	for ; i < len(b) && i < 19 && '0' <= b[i] && b[i] <= '9'; i++ {
		n = n*10 + int64(b[i]-'0')
	}
	if i == 0 || i >= len(b) || b[i] != end {
		return 0, nil, false
	}
	return n, b[i+1:], true
}

// peerID is the ID of the i-th peer of a fleet; both servers let a client
// choose it, so a sender knows every receiver's ID without asking.
func peerID(i int) string { return "p" + strconv.Itoa(i) }

// benchKey is the API key of the one app in skywasm's configuration.
const benchKey = "5b1f0c9e-7a2d-4c3b-9e8f-0a1b2c3d4e5f"

// skywasmConfig lets the benchmark's app hold far more peers than it will
// connect: the default maxPeers, 10,000, would refuse the 10,001st. The
// per-socket message rate (100/s, bursts of 200) is kept at its default,
// as a deployment would; the generator paces each peer under it instead
// (see Options.perPeerRate).
//
// Its network section lifts the per-address limits (4,096 sockets, 200
// handshakes a second): the whole fleet comes from loopback addresses.
const skywasmConfig = `apps:
  - key: ` + benchKey + `
    secret: signaling-benchmark-secret
    limits:
      maxPeers: 1000000
network:
  perIP:
    connections: 1000000
    handshakesPerSecond: 1000000
    handshakeBurst: 1000000
`

// newSkywasm describes `skywasm serve` run from the binary bin, with its
// configuration written into dir.
func newSkywasm(bin, dir string) (*target, error) {
	cfg := filepath.Join(dir, "skywasm.yaml")
	if err := os.WriteFile(cfg, []byte(skywasmConfig), 0o600); err != nil {
		return nil, fmt.Errorf("failed to write skywasm's configuration: %w", err)
	}
	frame, err := protocol.Marshal(protocol.SendOffer, protocol.RelayPayload{
		Dst:            dstHole,
		ConnectionID:   cidHole,
		ConnectionType: protocol.Media,
		Offer:          &protocol.SessionDescription{Type: "offer", SDP: offerSDP},
		Metadata:       json.RawMessage(`{"caller":"signaling-benchmark"}`),
	})
	if err != nil {
		return nil, fmt.Errorf("failed to build skywasm's offer: %w", err)
	}
	offer, err := newFrameTemplate(frame)
	if err != nil {
		return nil, err
	}
	ping, err := protocol.Marshal(protocol.Ping, nil)
	if err != nil {
		return nil, fmt.Errorf("failed to build skywasm's PING: %w", err)
	}
	return &target{
		name: "skywasm",
		command: func(port int) *exec.Cmd {
			// No static files, and only warnings logged: neither server
			// should spend the run writing a line per connection.
			return exec.Command(bin, "serve", "-config", cfg, "-addr", "127.0.0.1:"+strconv.Itoa(port),
				"-static", "", "-log-level", "warn")
		},
		readyPath: "/healthz",
		dialURL: func(hostport, id string) string {
			return "ws://" + hostport + signaling.Path + "?key=" + benchKey + "&peerId=" + url.QueryEscape(id)
		},
		checkOpen: func(msg []byte) error {
			var env protocol.Envelope
			if err := json.Unmarshal(msg, &env); err != nil {
				return fmt.Errorf("skywasm's first message is not JSON: %w", err)
			}
			if env.Type != protocol.Open {
				return fmt.Errorf("skywasm sent %.200s instead of OPEN", msg)
			}
			return nil
		},
		offer:     offer,
		heartbeat: ping,
	}, nil
}

// peerjsKey is peerjs-server's API key; it has one, "peerjs" by default.
const peerjsKey = "peerjs"

// newPeerJS describes peerjs-server, the script bin/peerjs.js of the npm
// package peer, run by node. Its concurrent_limit (5,000 by default) is
// raised past any fleet; it has no other limit on peers or messages.
func newPeerJS(node, script string) (*target, error) {
	version, err := peerVersion(script)
	if err != nil {
		return nil, err
	}
	// What the PeerJS client sends to call a peer, with the same SDP and
	// metadata as skywasm's offer.
	frame, err := json.Marshal(map[string]any{
		"type": "OFFER",
		"payload": map[string]any{
			"sdp":          map[string]string{"type": "offer", "sdp": offerSDP},
			"type":         "media",
			"connectionId": cidHole,
			"metadata":     map[string]string{"caller": "signaling-benchmark"},
		},
		"dst": dstHole,
	})
	if err != nil {
		return nil, fmt.Errorf("failed to build peerjs-server's offer: %w", err)
	}
	offer, err := newFrameTemplate(frame)
	if err != nil {
		return nil, err
	}
	return &target{
		name: "peerjs-server " + version,
		command: func(port int) *exec.Cmd {
			return exec.Command(node, script, "--host", "127.0.0.1", "--port", strconv.Itoa(port),
				"--key", peerjsKey, "--concurrent_limit", "1000000")
		},
		readyPath: "/",
		dialURL: func(hostport, id string) string {
			q := url.Values{"key": {peerjsKey}, "id": {id}, "token": {"t" + id}}
			return "ws://" + hostport + "/peerjs?" + q.Encode()
		},
		checkOpen: func(msg []byte) error {
			var m struct {
				Type string `json:"type"`
			}
			if err := json.Unmarshal(msg, &m); err != nil {
				return fmt.Errorf("peerjs-server's first message is not JSON: %w", err)
			}
			if m.Type != "OPEN" {
				return fmt.Errorf("peerjs-server sent %.200s instead of OPEN", msg)
			}
			return nil
		},
		offer:     offer,
		heartbeat: []byte(`{"type":"HEARTBEAT"}`),
	}, nil
}

// peerVersion reads the version of the npm package peer from the
// package.json above its script.
func peerVersion(script string) (string, error) {
	dir, err := filepath.Abs(filepath.Dir(script))
	if err != nil {
		return "", fmt.Errorf("failed to locate peerjs-server: %w", err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "package.json"))
		if err == nil {
			var pkg struct{ Name, Version string }
			if err := json.Unmarshal(data, &pkg); err != nil {
				return "", fmt.Errorf("failed to read peerjs-server's package.json: %w", err)
			}
			if pkg.Name == "peer" {
				return pkg.Version, nil
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("failed to read peerjs-server's package.json: %w", err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%s is not inside the npm package peer (run npm ci)", script)
		}
		dir = parent
	}
}

// nodeInfo returns node's version and its default V8 heap limit in bytes,
// which bounds how many peers peerjs-server can hold whatever the memory.
func nodeInfo(node string) (version string, heapLimit float64, err error) {
	out, err := exec.Command(node, "-p", `process.version + " " + require("v8").getHeapStatistics().heap_size_limit`).Output()
	if err != nil {
		return "", 0, fmt.Errorf("failed to run %s: %w", node, err)
	}
	v, limit, ok := strings.Cut(strings.TrimSpace(string(out)), " ")
	if !ok {
		return "", 0, fmt.Errorf("unexpected output of %s: %q", node, out)
	}
	heapLimit, err = strconv.ParseFloat(limit, 64)
	if err != nil {
		return "", 0, fmt.Errorf("unexpected heap limit from %s: %q", node, limit)
	}
	return v, heapLimit, nil
}
