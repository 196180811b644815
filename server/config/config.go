// Package config reads and checks the server's YAML configuration: the listen
// address and the apps (API keys) with their secrets, allowed page domains,
// permissions and limits, and how the node joins a cluster.
//
// It only describes and validates settings; it opens no sockets and never
// logs. A Config is read-only once loaded and safe for concurrent use.
package config

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Default limits, used where the file leaves a limit out or sets it to zero.
const (
	DefaultMaxPeers       = 10000
	DefaultMaxRoomMembers = 100
)

// MinSecretLength is the shortest secret Validate accepts, in bytes.
const MinSecretLength = 16

// DevAddr is the listen address of Dev's configuration.
const DevAddr = "localhost:8080"

// Config is the whole server configuration.
type Config struct {
	// Addr is the listen address (host:port). Empty leaves the choice to the
	// command line.
	Addr string `yaml:"addr"`
	// Apps are the registered applications, each with its own API key.
	Apps []App `yaml:"apps"`
	// Network bounds what one client address may use.
	Network Network `yaml:"network"`
	// SFU limits this node's media server.
	SFU SFU `yaml:"sfu"`
	// Cluster joins this node to a cluster on NATS; empty, it runs alone.
	Cluster Cluster `yaml:"cluster"`

	// index maps an API key to its position in Apps. Parse and Dev build it;
	// a Config built by hand has none and App scans Apps instead.
	index map[string]int
}

// App is one application: an API key and what pages using it may do.
type App struct {
	// Key is the API key pages pass to new Peer, a lower-case UUID.
	Key string `yaml:"key"`
	// Secret signs peer-authentication credentials and TURN credentials.
	Secret string `yaml:"secret"`
	// Domains are the host names pages may be served from, matched against the
	// browser's Origin header. "*.example.com" matches every subdomain of
	// example.com but not example.com itself. Empty allows every origin.
	Domains []string `yaml:"domains"`
	// Permissions switch optional features on.
	Permissions Permissions `yaml:"permissions"`
	// Limits cap the app's use of the server.
	Limits Limits `yaml:"limits"`
}

// Permissions are the optional features an app may use.
type Permissions struct {
	// ListPeers allows listAllPeers.
	ListPeers bool `yaml:"listPeers"`
	// SFU allows rooms in sfu mode.
	SFU bool `yaml:"sfu"`
	// TURN hands out TURN credentials with OPEN.
	TURN bool `yaml:"turn"`
	// PeerAuthentication requires every peer to present a credential signed
	// with the app's secret.
	PeerAuthentication bool `yaml:"peerAuthentication"`
}

// Limits cap an app's use of the server. Zero in the file means the default
// (see DefaultLimits); Parse, Load and Dev fill defaults in.
type Limits struct {
	// MaxPeers is the most peers connected at once with this key.
	MaxPeers int `yaml:"maxPeers"`
	// MaxRoomMembers is the most members of one room.
	MaxRoomMembers int `yaml:"maxRoomMembers"`
	// MessageRate and MessageBurst bound one socket's messages a second
	// (a token bucket); zero means the server's, protocol.MessageRate and
	// protocol.MessageBurst (100 and 200).
	MessageRate  int `yaml:"messageRate"`
	MessageBurst int `yaml:"messageBurst"`
}

// Network bounds each client address, on the signaling socket and the
// HTTP API alike (PerIP; zero means DefaultPerIP's), and on the TURN
// server's TCP and TLS listeners (TURNPerIP; zero means the TURN server's
// default).
type Network struct {
	// TrustedProxies are the addresses or CIDR prefixes of reverse
	// proxies whose X-Forwarded-For is believed.
	TrustedProxies []string `yaml:"trustedProxies"`
	// PerIP bounds one client address's signaling sockets and API
	// requests.
	PerIP PerIP `yaml:"perIP"`
	// TURNPerIP bounds one client address's TCP and TLS connections to
	// the TURN server. Its fields stay zero unless the file sets them:
	// the TURN server's own defaults apply, and a command-line flag wins.
	TURNPerIP PerIP `yaml:"turnPerIP"`
}

// PerIP bounds one client address.
type PerIP struct {
	// Connections is the most connections (signaling sockets and API
	// requests, or TURN connections) one address holds at once.
	Connections int `yaml:"connections"`
	// HandshakesPerSecond and HandshakeBurst bound the new ones a second.
	HandshakesPerSecond int `yaml:"handshakesPerSecond"`
	HandshakeBurst      int `yaml:"handshakeBurst"`
}

// DefaultPerIP returns 4,096 connections, 200 handshakes a second and
// bursts of 1,000 for one address: far beyond a household or office NAT,
// far below what exhausts a node's file descriptors.
func DefaultPerIP() PerIP {
	return PerIP{Connections: 4096, HandshakesPerSecond: 200, HandshakeBurst: 1000}
}

// TrustedPrefixes parses TrustedProxies; Validate has checked them.
func (n *Network) TrustedPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range n.TrustedProxies {
		if p, err := parsePrefix(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// parsePrefix parses a CIDR prefix or a lone address.
func parsePrefix(s string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	return p.Masked(), err
}

// DefaultLimits returns the limits an app gets when its file sets none.
func DefaultLimits() Limits {
	return Limits{MaxPeers: DefaultMaxPeers, MaxRoomMembers: DefaultMaxRoomMembers}
}

// Load reads the YAML file at path, fills in defaults and validates the result.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("failed to read config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse is Load without the file: it decodes data as YAML, fills in defaults
// and validates the result. Unknown fields are errors.
func Parse(data []byte) (*Config, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("failed to parse YAML: %w", err)
	}
	// A second document would be silently ignored; refuse it instead.
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, fmt.Errorf("failed to parse YAML: %w", err)
		}
		return nil, fmt.Errorf("failed to parse YAML: line %d: only one document is allowed", extra.Line)
	}
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c.buildIndex()
	return &c, nil
}

// Dev returns the configuration of dev mode: one app with a random key and
// secret, pages from localhost, every permission but peer authentication,
// and the default limits.
func Dev() (*Config, error) {
	key, err := newAPIKey()
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("failed to generate secret: %w", err)
	}
	c := &Config{
		Addr: DevAddr,
		Apps: []App{{
			Key:         key,
			Secret:      base64.RawURLEncoding.EncodeToString(secret),
			Domains:     []string{"localhost", "127.0.0.1", "::1"},
			Permissions: Permissions{ListPeers: true, SFU: true, TURN: true},
			Limits:      DefaultLimits(),
		}},
		SFU: DefaultSFU(),
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c.buildIndex()
	return c, nil
}

// newAPIKey returns a random version-4 UUID in lower case.
func newAPIKey() (string, error) {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		return "", fmt.Errorf("failed to generate API key: %w", err)
	}
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32], nil
}

func (c *Config) applyDefaults() {
	ip, n := DefaultPerIP(), &c.Network.PerIP
	if n.Connections == 0 {
		n.Connections = ip.Connections
	}
	if n.HandshakesPerSecond == 0 {
		n.HandshakesPerSecond = ip.HandshakesPerSecond
	}
	if n.HandshakeBurst == 0 {
		n.HandshakeBurst = ip.HandshakeBurst
	}
	c.SFU.applyDefaults()
	d := DefaultLimits()
	for i := range c.Apps {
		l := &c.Apps[i].Limits
		if l.MaxPeers == 0 {
			l.MaxPeers = d.MaxPeers
		}
		if l.MaxRoomMembers == 0 {
			l.MaxRoomMembers = d.MaxRoomMembers
		}
	}
}

func (c *Config) buildIndex() {
	c.index = make(map[string]int, len(c.Apps))
	for i, a := range c.Apps {
		c.index[a.Key] = i
	}
}

// Validate reports every problem in c, each naming its field as in
// `apps[1].key: "ABC" is not a lower-case UUID`. Limits may be zero, which
// means the default, but not negative.
func (c *Config) Validate() error {
	var errs []error
	fail := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.Addr != "" {
		if _, _, err := net.SplitHostPort(c.Addr); err != nil {
			fail("addr", "%q is not host:port", c.Addr)
		}
	}
	if len(c.Apps) == 0 {
		fail("apps", "at least one app is required")
	}
	errs = append(errs, c.SFU.validate()...)
	errs = append(errs, c.Cluster.validate()...)
	seen := make(map[string]int, len(c.Apps))
	for i, a := range c.Apps {
		field := fmt.Sprintf("apps[%d]", i)
		switch {
		case a.Key == "":
			fail(field+".key", "required")
		case !IsAPIKey(a.Key):
			fail(field+".key", "%q is not a lower-case UUID", a.Key)
		default:
			if j, ok := seen[a.Key]; ok {
				fail(field+".key", "duplicate of apps[%d].key", j)
			} else {
				seen[a.Key] = i
			}
		}
		switch {
		case a.Secret == "":
			fail(field+".secret", "required")
		case len(a.Secret) < MinSecretLength:
			// Never echo the secret itself.
			fail(field+".secret", "must be at least %d characters, has %d", MinSecretLength, len(a.Secret))
		}
		for j, d := range a.Domains {
			if problem := checkDomain(d); problem != "" {
				fail(fmt.Sprintf("%s.domains[%d]", field, j), "%q %s", d, problem)
			}
		}
		if a.Limits.MaxPeers < 0 {
			fail(field+".limits.maxPeers", "must not be negative, is %d", a.Limits.MaxPeers)
		}
		if a.Limits.MaxRoomMembers < 0 {
			fail(field+".limits.maxRoomMembers", "must not be negative, is %d", a.Limits.MaxRoomMembers)
		}
		if a.Limits.MessageRate < 0 || a.Limits.MessageBurst < 0 {
			fail(field+".limits.messageRate", "messageRate and messageBurst must not be negative")
		}
	}
	for i, p := range c.Network.TrustedProxies {
		if _, err := parsePrefix(p); err != nil {
			fail(fmt.Sprintf("network.trustedProxies[%d]", i), "%q is not an address or CIDR prefix", p)
		}
	}
	if n := c.Network.PerIP; n.Connections < 0 || n.HandshakesPerSecond < 0 || n.HandshakeBurst < 0 {
		fail("network.perIP", "limits must not be negative")
	}
	if n := c.Network.TURNPerIP; n.Connections < 0 || n.HandshakesPerSecond < 0 || n.HandshakeBurst < 0 {
		fail("network.turnPerIP", "limits must not be negative")
	}
	return errors.Join(errs...)
}

// checkDomain returns what is wrong with a Domains entry, or "".
func checkDomain(d string) string {
	switch {
	case d == "":
		return "is empty"
	case strings.Contains(d, "://"):
		return "has a scheme; give the host name only"
	case strings.ContainsAny(d, "/?#"):
		return "has a path; give the host name only"
	case net.ParseIP(d) != nil:
		return ""
	case strings.HasPrefix(d, "[") && strings.HasSuffix(d, "]") && net.ParseIP(d[1:len(d)-1]) != nil:
		return "has brackets; give the IPv6 address without them"
	case strings.Contains(d, ":"):
		return "has a port; give the host name only"
	}
	name := d
	if suffix, ok := strings.CutPrefix(d, "*."); ok {
		name = suffix
		if net.ParseIP(name) != nil {
			return "puts a wildcard before an IP address"
		}
	}
	if !isHostName(name) {
		return `is not a host name, IP address or "*.suffix"`
	}
	return ""
}

// isHostName reports whether s is a DNS name: dot-separated labels of
// letters, digits, '-' and '_' (seen in the wild), none empty or over 63
// bytes, and no label starting or ending with '-'.
func isHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			b := label[i]
			if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '_') {
				return false
			}
		}
	}
	return true
}

// App returns the app with the API key key.
func (c *Config) App(key string) (*App, bool) {
	if i, ok := c.index[key]; ok && i < len(c.Apps) && c.Apps[i].Key == key {
		return &c.Apps[i], true
	}
	// No index (a Config built by hand) or a stale one (Apps changed after
	// Parse): scan. Apps are few, so a miss costs little.
	for i := range c.Apps {
		if c.Apps[i].Key == key {
			return &c.Apps[i], true
		}
	}
	return nil, false
}

// AllowsOrigin reports whether a page from origin, the value of the browser's
// Origin header such as "http://localhost:5173", may use the app. The host
// part, without port, is compared case-insensitively with Domains. An empty
// origin comes from a client that is not a browser and is allowed; "null"
// (an opaque origin such as a file:// page) and unparsable origins are
// refused unless Domains is empty.
func (a *App) AllowsOrigin(origin string) bool {
	if len(a.Domains) == 0 || origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return false
	}
	host := strings.TrimSuffix(u.Hostname(), ".")
	if host == "" {
		return false
	}
	for _, d := range a.Domains {
		if suffix, ok := strings.CutPrefix(d, "*"); ok && strings.HasPrefix(suffix, ".") {
			// suffix is ".example.com": require at least one label before it.
			if len(host) > len(suffix) && strings.EqualFold(host[len(host)-len(suffix):], suffix) {
				return true
			}
			continue
		}
		if strings.EqualFold(host, d) {
			return true
		}
	}
	return false
}

// IsAPIKey reports whether s is a UUID in lower case (8-4-4-4-12 hex digits),
// the form of an API key.
func IsAPIKey(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch i {
		case 8, 13, 18, 23:
			if b != '-' {
				return false
			}
		default:
			if !('0' <= b && b <= '9' || 'a' <= b && b <= 'f') {
				return false
			}
		}
	}
	return true
}

// Defaults of the `sfu:` section, from `make bench` on a 2-core machine:
// the largest room held under 1% loss with 4 video publishers was 148
// members, 296 down-tracks per core; 250 leaves a margin. A participant
// costs memory and a share of the one UDP socket whatever it receives,
// hence a cap on them too.
const (
	DefaultSFUMaxTracksPerCPU = 250
	DefaultSFUMaxParticipants = 1000
)

// NoLimit, as an `sfu:` limit, lifts it.
const NoLimit = -1

// SFU is the `sfu:` section: the node's limits, beyond which a new SFU
// connection is refused with sfu-limited and the rooms' members are
// unaffected. Zero or absent means the default (DefaultSFU); NoLimit (-1)
// means no limit.
type SFU struct {
	// MaxParticipants is the most SFU connections the node holds.
	MaxParticipants int `yaml:"maxParticipants"`
	// MaxTracksPerCPU is the most tracks the node sends to subscribers
	// per CPU core (a room of one publisher of audio and video and n
	// subscribers takes 2n).
	MaxTracksPerCPU int `yaml:"maxTracksPerCPU"`
	// ShedLoad is load shedding past capacity: the newest joiners' video
	// pauses while the SFU's send queues overflow, and resumes from a
	// keyframe (server/sfu/shed.go). Nil means the default, on.
	ShedLoad *bool `yaml:"shedLoad"`
	// BatchWrites sends the SFU's packets in batches, one sendmmsg per
	// send worker's pass, on Linux (server/sfu/batch_linux.go). Nil means
	// the default, on.
	BatchWrites *bool `yaml:"batchWrites"`
}

// Shedding reports whether the node sheds load past capacity.
func (s SFU) Shedding() bool { return s.ShedLoad == nil || *s.ShedLoad }

// Batching reports whether the SFU batches its writes.
func (s SFU) Batching() bool { return s.BatchWrites == nil || *s.BatchWrites }

// DefaultSFU returns the limits a node gets when its file sets none.
func DefaultSFU() SFU {
	return SFU{MaxParticipants: DefaultSFUMaxParticipants, MaxTracksPerCPU: DefaultSFUMaxTracksPerCPU}
}

// NodeLimits returns the node's limits for a machine of cpus cores, as
// the SFU takes them: the most participants and the most down-tracks, 0
// for no limit.
func (s SFU) NodeLimits(cpus int) (participants, downTracks int) {
	participants, downTracks = max(s.MaxParticipants, 0), max(s.MaxTracksPerCPU, 0)*cpus
	return participants, downTracks
}

func (s *SFU) applyDefaults() {
	d := DefaultSFU()
	if s.MaxParticipants == 0 {
		s.MaxParticipants = d.MaxParticipants
	}
	if s.MaxTracksPerCPU == 0 {
		s.MaxTracksPerCPU = d.MaxTracksPerCPU
	}
}

func (s SFU) validate() []error {
	var errs []error
	if s.MaxParticipants < NoLimit {
		errs = append(errs, fmt.Errorf("sfu.maxParticipants: %d is negative (-1 is no limit)", s.MaxParticipants))
	}
	if s.MaxTracksPerCPU < NoLimit {
		errs = append(errs, fmt.Errorf("sfu.maxTracksPerCPU: %d is negative (-1 is no limit)", s.MaxTracksPerCPU))
	}
	return errs
}
