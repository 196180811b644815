package sdk

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/skywasm/skywasm/protocol"
)

// PeerOptions configures a Peer. Only Key and the server's address are
// required; every other zero value means the default.
type PeerOptions struct {
	// Key is the app's API key, a lower-case UUID.
	Key string
	// ID is the peer ID to ask for; "" lets the server assign one.
	ID string
	// Token is the session token with which a reconnecting socket takes
	// its peer ID back (SkyWay's options.token): 1 to 64 characters of
	// [A-Za-z0-9_-]; "" means a random one. Keep it secret: it is the
	// peer's claim to its ID.
	Token string

	// URL is the server's base address, "http(s)://host:port" or
	// "ws(s)://host:port". It wins over Host, Port and Secure.
	URL string
	// Host, Port and Secure give the server's address SkyWay's way; they
	// are used when URL is empty, and then Host and Port are required.
	Host   string
	Port   int
	Secure bool
	// NoDispatch connects to this server only. By default the Peer first
	// asks it which server to use (GET /v1/dispatch): a node of a skywasm
	// cluster answers with the live nodes, least loaded first, and the
	// Peer connects to one, moving to another live node when its own
	// dies; a single server answers with no nodes and is used itself.
	NoDispatch bool

	// Credential is the peer-authentication credential, for apps that
	// require one; it is signed for ID.
	Credential *Credential
	// Config is the RTCConfiguration of every PeerConnection. Its ICE
	// servers are kept and the server's TURN servers are added to them.
	// It is a webrtc.Configuration, except in the browser build (see
	// Configuration).
	Config Configuration
	// DisableTURN leaves out the TURN servers the server offers in OPEN
	// (SkyWay's `turn: false`).
	DisableTURN bool
	// API creates the PeerConnections; nil means pion's defaults (natively:
	// the default codecs and interceptors).
	API *webrtc.API
	// Logger receives the SDK's logs; nil discards them. It is a
	// *slog.Logger, except in the browser build (see Logger).
	Logger *Logger
	// HTTPClient makes ListAllPeers and FetchPeerExists requests and the
	// signaling socket's handshake (so its TLS settings apply to both); nil
	// means http.DefaultClient. The browser build ignores it and uses the
	// page's fetch and WebSocket, which keeps net/http's client (about 5 MB)
	// out of sdk.wasm; there the field's type is an empty placeholder, so
	// that net/http's Client, and through its responses crypto/x509's
	// certificates, are not part of PeerOptions.
	HTTPClient *httpClient

	// ReconnectDelay is the first wait before reconnecting after an
	// unexpected drop, doubled on every failure up to MaxReconnectDelay.
	// Defaults: 500 ms and 10 s.
	ReconnectDelay    time.Duration
	MaxReconnectDelay time.Duration
	// NoReconnect turns automatic reconnection off.
	NoReconnect bool

	// ICERestartTimeout is how long a connection whose ICE went
	// disconnected or failed may try to recover, by ICE restarts through
	// signaling, before it closes: a call survives a network change or an
	// outage shorter than this. 0 means DefaultICERestartTimeout.
	ICERestartTimeout time.Duration
	// NoICERestart restores SkyWay's behaviour: a connection closes as soon
	// as its ICE goes disconnected or failed.
	NoICERestart bool
}

// Credential is what a peer presents for peer authentication, SkyWay's
// {"timestamp", "ttl", "authToken"}: the app's own server signs it for one
// peer ID with the app's secret (SignCredential).
type Credential = protocol.Credential

// SignCredential signs a credential for peerID with the app's secret, valid
// for ttl (10 minutes to 25 hours) from timestamp: what an app's server
// does for its pages, and what a Go client that holds the secret can do for
// itself.
func SignCredential(secret, peerID string, timestamp time.Time, ttl time.Duration) Credential {
	return protocol.SignCredential(secret, peerID, timestamp, ttl)
}

// Default reconnection back-off.
const (
	DefaultReconnectDelay    = 500 * time.Millisecond
	DefaultMaxReconnectDelay = 10 * time.Second
)

// DefaultICERestartTimeout is how long a connection tries to recover its
// ICE before it closes: long enough for a phone to move from Wi-Fi to
// cellular, short enough that a peer that is gone does not linger.
const DefaultICERestartTimeout = 15 * time.Second

// isLowerUUID reports whether s is a UUID written in lower case, the form of
// an API key. (A hand-written check: regexp would add to sdk.wasm's size.)
func isLowerUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

// validate checks the options and fills in defaults, returning SkyWay's
// error types for a bad key or ID.
func (o *PeerOptions) validate() error {
	if !isLowerUUID(o.Key) {
		return newError(protocol.ErrInvalidKey, fmt.Sprintf("API key %q is not a lower-case UUID", o.Key), nil)
	}
	if o.ID != "" && !protocol.ValidPeerID(o.ID) {
		return newError(protocol.ErrInvalidID, fmt.Sprintf("peer ID %q is not valid", o.ID), nil)
	}
	if o.Token != "" && !protocol.ValidToken(o.Token) {
		return fmt.Errorf("sdk: PeerOptions.Token %q is not 1 to %d characters of [A-Za-z0-9_-]", o.Token, protocol.MaxTokenLength)
	}
	if o.ReconnectDelay <= 0 {
		o.ReconnectDelay = DefaultReconnectDelay
	}
	if o.MaxReconnectDelay <= 0 {
		o.MaxReconnectDelay = DefaultMaxReconnectDelay
	}
	if o.MaxReconnectDelay < o.ReconnectDelay {
		o.MaxReconnectDelay = o.ReconnectDelay
	}
	if o.ICERestartTimeout < 0 {
		return errors.New("sdk: PeerOptions.ICERestartTimeout is negative")
	}
	if o.ICERestartTimeout == 0 {
		o.ICERestartTimeout = DefaultICERestartTimeout
	}
	if o.Logger == nil {
		o.Logger = discardLogger()
	}
	_, err := o.baseURL()
	return err
}

// baseURL is the server's HTTP(S) base address.
func (o *PeerOptions) baseURL() (*url.URL, error) {
	raw := o.URL
	if raw == "" {
		if o.Host == "" || o.Port == 0 {
			return nil, errors.New("sdk: PeerOptions needs URL, or Host and Port")
		}
		scheme := "http"
		if o.Secure {
			scheme = "https"
		}
		raw = scheme + "://" + o.Host + ":" + strconv.Itoa(o.Port)
	}
	return parseServerURL(raw)
}

// parseServerURL reads a server's base address: http, https, ws or wss
// and a host; its path, query and fragment are dropped. ws and wss become
// http and https.
func parseServerURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("sdk: server URL %q: %w", raw, err)
	}
	switch u.Scheme {
	case "http", "https":
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	default:
		return nil, fmt.Errorf("sdk: server URL %q: scheme must be http, https, ws or wss", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("sdk: server URL %q has no host", raw)
	}
	u.Path, u.RawQuery, u.Fragment = "", "", ""
	return u, nil
}
