package cluster

import (
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/skywasm/skywasm/protocol"
)

// token encodes a name for one token of a subject or key: base64url has no
// '.', '*', '>' or white space, and the "k" keeps an empty name non-empty.
func token(s string) string {
	return "k" + base64.RawURLEncoding.EncodeToString([]byte(s))
}

// untoken reverses token.
func untoken(t string) (string, bool) {
	if !strings.HasPrefix(t, "k") {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(t[1:])
	return string(b), err == nil
}

// Subjects, keys and headers.
const (
	peerPrefix = "skywasm.peer."
	roomPrefix = "skywasm.room."
	nodePrefix = "skywasm.node."
	logPrefix  = "skywasm.roomlog."
	sfuPrefix  = "skywasm.sfu."      // + node: SFU requests to the node
	sfuLeave   = "skywasm.sfu.leave" // SFU leaves, to every node
	logStream  = "SKYWASM_ROOMLOG_"  // and the key's token: one stream a key

	peersBucket = "skywasm_peers"
	roomsBucket = "skywasm_rooms"
	nodesBucket = "skywasm_nodes"
	pinsBucket  = "skywasm_sfu"

	hdrSrc    = "Sw-Src"    // the sending peer of a relayed message
	hdrBinary = "Sw-Bin"    // "1": a binary frame
	hdrOrigin = "Sw-Origin" // the sending node's incarnation
	hdrExcept = "Sw-Except" // the member a broadcast skips
	hdrOp     = "Sw-Op"     // "evict": a control message, not a delivery
	hdrChunk  = "Sw-Chunk"  // "<id> <index> <count>" of a chunked message
	hdrStatus = "Sw-Status" // in a reply: "ok" or "gone"
	hdrPeer   = "Sw-Peer"   // the peer subject an eviction is for
)

func peerSubject(key, id string) string { return peerPrefix + token(key) + "." + token(id) }
func roomSubject(key, room string) string {
	return roomPrefix + token(key) + "." + token(room)
}
func nodeSubject(node string) string  { return nodePrefix + token(node) }
func sfuSubject(node string) string   { return sfuPrefix + token(node) }
func claimKey(key, id string) string  { return "p." + token(key) + "." + token(id) }
func countKey(key string) string      { return "n." + token(key) }
func roomKey(key, room string) string { return token(key) + "." + token(room) }
func logSubject(key, room, epoch string) string {
	return logPrefix + token(key) + "." + token(room) + "." + epoch
}

// claimValue is a claim in skywasm_peers.
type claimValue struct {
	Node  string `json:"node"`
	Inc   string `json:"inc"` // the holding node's incarnation
	Token string `json:"token,omitempty"`
	// Counted says the claim counts towards its key's maxPeers.
	Counted bool `json:"counted,omitempty"`
}

// roomValue is a room in skywasm_rooms.
type roomValue struct {
	Type    protocol.RoomType `json:"type"`
	Epoch   string            `json:"epoch"` // names this life of the room's log
	Members []string          `json:"members"`
}

// NodeInfo is one live node as it announces itself.
type NodeInfo struct {
	Name      string `json:"name"`
	Inc       string `json:"inc"`
	PublicURL string `json:"url,omitempty"`
	Load      int    `json:"load"`
}

// logValue is one entry of a room's log.
type logValue struct {
	Type protocol.MessageType `json:"t"`
	Src  string               `json:"s"`
	At   int64                `json:"at"`
	Data []byte               `json:"d,omitempty"`
	Size int                  `json:"z,omitempty"`
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("cluster: " + err.Error()) // only our own plain structs are encoded
	}
	return b
}
