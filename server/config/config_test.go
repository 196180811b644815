package config_test

import (
	"encoding/base64"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/skywasm/skywasm/server/config"
)

const (
	key1 = "0f6a7c3e-1d2b-4c5a-9e8f-112233445566"
	key2 = "7d2c9a10-4b6e-4f3a-8c1d-aabbccddeeff"
)

// wantErr fails t unless err is non-nil and its message contains every part.
func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("error = nil, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want config.Config
	}{
		{
			file: "valid.yaml",
			want: config.Config{
				Addr: "127.0.0.1:8080",
				Apps: []config.App{
					{
						Key:         key1,
						Secret:      "a long random string",
						Domains:     []string{"localhost", "127.0.0.1", "*.example.com"},
						Permissions: config.Permissions{ListPeers: true, SFU: true, TURN: true},
						Limits:      config.Limits{MaxPeers: 500, MaxRoomMembers: 20},
					},
					{
						Key:    key2,
						Secret: "another-long-random-secret",
						Limits: config.DefaultLimits(),
					},
				},
			},
		},
		{
			file: "minimal.yaml",
			want: config.Config{
				Apps: []config.App{{Key: key1, Secret: "a long random string", Limits: config.DefaultLimits()}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			got, err := config.Load(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if got.Addr != tt.want.Addr {
				t.Errorf("Addr = %q, want %q", got.Addr, tt.want.Addr)
			}
			if !reflect.DeepEqual(got.Apps, tt.want.Apps) {
				t.Errorf("Apps = %+v\nwant %+v", got.Apps, tt.want.Apps)
			}
			for i := range got.Apps {
				a, ok := got.App(got.Apps[i].Key)
				if !ok || a != &got.Apps[i] {
					t.Errorf("App(%q) = %p, %v; want &Apps[%d]", got.Apps[i].Key, a, ok, i)
				}
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		file string
		want []string
	}{
		{
			name: "unknown field",
			file: "unknown-field.yaml",
			want: []string{"testdata/unknown-field.yaml", "line 8", `field trun not found`},
		},
		{
			name: "every problem reported",
			file: "invalid.yaml",
			want: []string{
				`apps[1].key: "0F6A7C3E-1D2B-4C5A-9E8F-112233445566" is not a lower-case UUID`,
				"apps[1].secret: must be at least 16 characters, has 5",
				"apps[2].key: duplicate of apps[0].key",
				`apps[2].domains[0]: "https://example.com" has a scheme`,
				"apps[2].limits.maxPeers: must not be negative, is -1",
			},
		},
		{
			name: "missing file",
			file: "no-such-file.yaml",
			want: []string{"failed to read config", "no-such-file.yaml"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := config.Load(filepath.Join("testdata", tt.file))
			if c != nil {
				t.Errorf("Load returned a config with error %v", err)
			}
			wantErr(t, err, tt.want...)
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	const app = "apps:\n  - key: " + key1 + "\n    secret: a long random string\n"
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"empty", "", []string{"apps: at least one app is required"}},
		{"no apps", "addr: localhost:8080\n", []string{"apps: at least one app is required"}},
		{"empty apps", "apps: []\n", []string{"apps: at least one app is required"}},
		{"unknown top-level field", "adr: localhost:8080\n" + app, []string{"line 1", "field adr not found"}},
		{"unknown app field", app + "    domain: [localhost]\n", []string{"line 4", "field domain not found"}},
		{"wrong type", app + "    limits: {maxPeers: many}\n", []string{"line 4", "many"}},
		{"duplicate YAML key", "addr: a:1\naddr: b:2\n" + app, []string{`"addr" already defined`}},
		{"two documents", app + "---\n" + app, []string{"line 4", "only one document"}},
		{"syntax", "apps: [\n", []string{"failed to parse YAML"}},
		{"bad addr", "addr: localhost\n" + app, []string{`addr: "localhost" is not host:port`}},
		{"missing key", "apps:\n  - secret: a long random string\n", []string{"apps[0].key: required"}},
		{"short key", "apps:\n  - key: 0f6a7c3e\n    secret: a long random string\n", []string{`apps[0].key: "0f6a7c3e" is not a lower-case UUID`}},
		{"missing secret", "apps:\n  - key: " + key1 + "\n", []string{"apps[0].secret: required"}},
		{"negative room limit", app + "    limits: {maxRoomMembers: -5}\n", []string{"apps[0].limits.maxRoomMembers: must not be negative, is -5"}},
		{"empty domain", app + `    domains: [""]` + "\n", []string{`apps[0].domains[0]: "" is empty`}},
		{"domain with port", app + "    domains: [localhost:5173]\n", []string{`apps[0].domains[0]: "localhost:5173" has a port`}},
		{"domain with path", app + "    domains: [example.com/app]\n", []string{`apps[0].domains[0]: "example.com/app" has a path`}},
		{"bracketed IPv6", app + `    domains: ["[::1]"]` + "\n", []string{`apps[0].domains[0]: "[::1]" has brackets`}},
		{"bare wildcard", app + `    domains: ["*"]` + "\n", []string{`apps[0].domains[0]: "*" is not a host name`}},
		{"inner wildcard", app + `    domains: ["a.*.example.com"]` + "\n", []string{`is not a host name`}},
		{"wildcard IP", app + `    domains: ["*.127.0.0.1"]` + "\n", []string{`puts a wildcard before an IP address`}},
		{"space in domain", app + `    domains: ["exa mple.com"]` + "\n", []string{`is not a host name`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := config.Parse([]byte(tt.yaml))
			if c != nil {
				t.Errorf("Parse returned a config with error %v", err)
			}
			wantErr(t, err, tt.want...)
		})
	}
}

func TestParseAcceptsDomains(t *testing.T) {
	t.Parallel()
	for _, d := range []string{"localhost", "127.0.0.1", "::1", "example.com", "Example.COM", "*.example.com", "my_host.local", "xn--bcher-kva.example"} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			y := fmt.Sprintf("apps:\n  - key: %s\n    secret: a long random string\n    domains: [%q]\n", key1, d)
			if _, err := config.Parse([]byte(y)); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	good := func() config.App {
		return config.App{Key: key1, Secret: "0123456789abcdef"}
	}
	tests := []struct {
		name   string
		modify func(c *config.Config)
		want   string // "" for valid
	}{
		{"valid with zero limits", func(*config.Config) {}, ""},
		{"secret of 16", func(c *config.Config) { c.Apps[0].Secret = "0123456789abcdef" }, ""},
		{"secret of 15", func(c *config.Config) { c.Apps[0].Secret = "0123456789abcde" }, "apps[0].secret: must be at least 16 characters, has 15"},
		{"second app bad key", func(c *config.Config) {
			c.Apps = append(c.Apps, config.App{Key: "ABC", Secret: "0123456789abcdef"})
		}, `apps[1].key: "ABC" is not a lower-case UUID`},
		{"duplicate", func(c *config.Config) {
			c.Apps = append(c.Apps, good(), good())
		}, "apps[1].key: duplicate of apps[0].key"},
		{"no apps", func(c *config.Config) { c.Apps = nil }, "apps: at least one app is required"},
		{"negative peers", func(c *config.Config) { c.Apps[0].Limits.MaxPeers = -1 }, "apps[0].limits.maxPeers: must not be negative"},
		{"addr without port", func(c *config.Config) { c.Addr = "127.0.0.1" }, `addr: "127.0.0.1" is not host:port`},
		{"addr port only", func(c *config.Config) { c.Addr = ":8080" }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &config.Config{Apps: []config.App{good()}}
			tt.modify(c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			wantErr(t, err, tt.want)
		})
	}
}

func TestValidateDoesNotEchoSecret(t *testing.T) {
	t.Parallel()
	c := &config.Config{Apps: []config.App{{Key: key1, Secret: "hunter2"}}}
	err := c.Validate()
	wantErr(t, err, "apps[0].secret")
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %q contains the secret", err)
	}
}

func TestDev(t *testing.T) {
	t.Parallel()
	c, err := config.Dev()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Dev config invalid: %v", err)
	}
	if c.Addr != "localhost:8080" {
		t.Errorf("Addr = %q, want localhost:8080", c.Addr)
	}
	if len(c.Apps) != 1 {
		t.Fatalf("len(Apps) = %d, want 1", len(c.Apps))
	}
	a := c.Apps[0]
	if !config.IsAPIKey(a.Key) || a.Key[14] != '4' || !strings.ContainsRune("89ab", rune(a.Key[19])) {
		t.Errorf("Key = %q, want a lower-case version-4 UUID", a.Key)
	}
	if b, err := base64.RawURLEncoding.DecodeString(a.Secret); err != nil || len(b) != 32 {
		t.Errorf("Secret = %q (%d bytes, %v), want 32 bytes base64url", a.Secret, len(b), err)
	}
	if !reflect.DeepEqual(a.Domains, []string{"localhost", "127.0.0.1", "::1"}) {
		t.Errorf("Domains = %q", a.Domains)
	}
	if want := (config.Permissions{ListPeers: true, SFU: true, TURN: true}); a.Permissions != want {
		t.Errorf("Permissions = %+v, want %+v", a.Permissions, want)
	}
	if a.Limits != config.DefaultLimits() {
		t.Errorf("Limits = %+v, want %+v", a.Limits, config.DefaultLimits())
	}
	if got, ok := c.App(a.Key); !ok || got.Key != a.Key {
		t.Errorf("App(%q) = %v, %v", a.Key, got, ok)
	}

	c2, err := config.Dev()
	if err != nil {
		t.Fatal(err)
	}
	if c2.Apps[0].Key == a.Key || c2.Apps[0].Secret == a.Secret {
		t.Error("two Dev configs share a key or secret")
	}
}

func TestDefaultLimits(t *testing.T) {
	t.Parallel()
	if got, want := config.DefaultLimits(), (config.Limits{MaxPeers: 10000, MaxRoomMembers: 100}); got != want {
		t.Errorf("DefaultLimits() = %+v, want %+v", got, want)
	}
}

func TestApp(t *testing.T) {
	t.Parallel()
	parsed, err := config.Load(filepath.Join("testdata", "valid.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// Changed after Parse: the index is stale and App must not trust it.
	stale, err := config.Load(filepath.Join("testdata", "valid.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	stale.Apps[0], stale.Apps[1] = stale.Apps[1], stale.Apps[0]
	stale.Apps = append(stale.Apps, config.App{Key: "3b1f0d2e-5a6c-4e7f-9a8b-0c1d2e3f4a5b", Secret: "0123456789abcdef"})

	configs := []struct {
		name string
		c    *config.Config
	}{
		{"parsed", parsed},
		{"by hand", &config.Config{Apps: []config.App{{Key: key1}, {Key: key2}}}},
		{"stale index", stale},
	}
	for _, tc := range configs {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, key := range []string{key1, key2} {
				a, ok := tc.c.App(key)
				if !ok || a.Key != key {
					t.Errorf("App(%q) = %v, %v; want the app", key, a, ok)
				}
			}
			for _, key := range []string{"", "0F6A7C3E-1D2B-4C5A-9E8F-112233445566", "00000000-0000-4000-8000-000000000000"} {
				if a, ok := tc.c.App(key); ok || a != nil {
					t.Errorf("App(%q) = %v, %v; want nil, false", key, a, ok)
				}
			}
		})
	}
	if a, ok := stale.App("3b1f0d2e-5a6c-4e7f-9a8b-0c1d2e3f4a5b"); !ok || a != &stale.Apps[2] {
		t.Errorf("App of an appended app = %v, %v", a, ok)
	}
}

func TestAllowsOrigin(t *testing.T) {
	t.Parallel()
	restricted := []string{"localhost", "127.0.0.1", "::1", "Example.com", "*.example.org"}
	tests := []struct {
		name    string
		domains []string
		origin  string
		want    bool
	}{
		{"any: page", nil, "https://anything.test", true},
		{"any: null", nil, "null", true},
		{"any: no origin", nil, "", true},
		{"no origin", restricted, "", true},
		{"localhost with port", restricted, "http://localhost:5173", true},
		{"localhost without port", restricted, "http://localhost", true},
		{"localhost upper case", restricted, "http://LOCALHOST:8080", true},
		{"IPv4", restricted, "http://127.0.0.1:8080", true},
		{"IPv6", restricted, "http://[::1]:8080", true},
		{"case-insensitive domain", restricted, "https://example.COM", true},
		{"trailing dot", restricted, "https://example.com.", true},
		{"subdomain of exact domain", restricted, "https://www.example.com", false},
		{"wildcard one level", restricted, "https://a.example.org", true},
		{"wildcard two levels", restricted, "https://a.b.example.org:8443", true},
		{"wildcard upper case", restricted, "https://A.EXAMPLE.ORG", true},
		{"wildcard apex", restricted, "https://example.org", false},
		{"wildcard look-alike", restricted, "https://badexample.org", false},
		{"suffix attack", restricted, "https://example.com.evil.test", false},
		{"other host", restricted, "https://evil.test", false},
		{"other IP", restricted, "http://127.0.0.2", false},
		{"null", restricted, "null", false},
		{"no scheme", restricted, "localhost:8080", false},
		{"host only", restricted, "localhost", false},
		{"unparsable", restricted, "http://[::1", false},
		{"userinfo trick", restricted, "http://localhost@evil.test", false},
		{"file", restricted, "file://", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := &config.App{Key: key1, Domains: tt.domains}
			if got := a.AllowsOrigin(tt.origin); got != tt.want {
				t.Errorf("AllowsOrigin(%q) with %q = %v, want %v", tt.origin, tt.domains, got, tt.want)
			}
		})
	}
}

func TestIsAPIKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s    string
		want bool
	}{
		{key1, true},
		{"00000000-0000-0000-0000-000000000000", true},
		{"0F6A7C3E-1D2B-4C5A-9E8F-112233445566", false},
		{"0f6a7c3e-1d2b-4c5a-9e8f-11223344556", false},
		{"0f6a7c3e-1d2b-4c5a-9e8f-1122334455667", false},
		{"0f6a7c3e1d2b4c5a9e8f112233445566", false},
		{"0f6a7c3e-1d2b-4c5a-9e8f_112233445566", false},
		{"0f6a7c3e-1d2b-4c5a-9e8f-11223344556g", false},
		{"{0f6a7c3e-1d2b-4c5a-9e8f-1122334455}", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.s, func(t *testing.T) {
			t.Parallel()
			if got := config.IsAPIKey(tt.s); got != tt.want {
				t.Errorf("IsAPIKey(%q) = %v, want %v", tt.s, got, tt.want)
			}
		})
	}
}

func ExampleParse() {
	c, err := config.Parse([]byte(`
addr: 127.0.0.1:8080
apps:
  - key: 0f6a7c3e-1d2b-4c5a-9e8f-112233445566
    secret: "a long random string"
    domains: ["localhost", "*.example.com"]
    permissions: {sfu: true}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	a, _ := c.App("0f6a7c3e-1d2b-4c5a-9e8f-112233445566")
	fmt.Println(a.Permissions.SFU, a.Limits.MaxPeers)
	fmt.Println(a.AllowsOrigin("http://localhost:5173"), a.AllowsOrigin("https://www.example.com"), a.AllowsOrigin("https://example.com"))
	// Output:
	// true 10000
	// true true false
}

func ExampleConfig_Validate() {
	c := &config.Config{Apps: []config.App{
		{Key: "0f6a7c3e-1d2b-4c5a-9e8f-112233445566", Secret: "a long random string"},
		{Key: "0f6a7c3e-1d2b-4c5a-9e8f-112233445566", Secret: "a long random string"},
	}}
	fmt.Println(c.Validate())
	// Output: apps[1].key: duplicate of apps[0].key
}

// TestNetwork: the network section's per-address limits default when left
// out, trusted proxies parse as addresses or prefixes, and an app's
// message rate is read.
func TestNetwork(t *testing.T) {
	t.Parallel()
	const app = `apps:
  - key: 0f6a7c3e-1d2b-4c5a-9e8f-112233445566
    secret: a-secret-of-16-chars
    limits:
      messageRate: 20
      messageBurst: 40
`
	c, err := config.Parse([]byte(app + "network:\n  trustedProxies: [10.0.0.0/8, 192.0.2.7]\n  perIP:\n    connections: 64\n  turnPerIP:\n    handshakesPerSecond: 5\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := config.PerIP{Connections: 64, HandshakesPerSecond: config.DefaultPerIP().HandshakesPerSecond, HandshakeBurst: config.DefaultPerIP().HandshakeBurst}
	if c.Network.PerIP != want {
		t.Errorf("perIP = %+v, want %+v", c.Network.PerIP, want)
	}
	// TURN's defaults are the TURN server's: what the file leaves out
	// stays zero.
	if want := (config.PerIP{HandshakesPerSecond: 5}); c.Network.TURNPerIP != want {
		t.Errorf("turnPerIP = %+v, want %+v", c.Network.TURNPerIP, want)
	}
	if got := c.Network.TrustedPrefixes(); len(got) != 2 || got[0].String() != "10.0.0.0/8" || got[1].String() != "192.0.2.7/32" {
		t.Errorf("trusted prefixes %v", got)
	}
	if l := c.Apps[0].Limits; l.MessageRate != 20 || l.MessageBurst != 40 {
		t.Errorf("limits %+v", l)
	}
	if c, err := config.Parse([]byte(app)); err != nil || c.Network.PerIP != config.DefaultPerIP() {
		t.Errorf("without a network section: %+v, %v", c.Network.PerIP, err)
	}
	for _, bad := range []string{
		"network:\n  trustedProxies: [not-an-address]\n",
		"network:\n  perIP:\n    connections: -1\n",
		"network:\n  turnPerIP:\n    handshakeBurst: -1\n",
	} {
		if _, err := config.Parse([]byte(app + bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestCluster(t *testing.T) {
	t.Parallel()
	const apps = "apps:\n  - key: " + key1 + "\n    secret: a-long-random-secret\n"
	tests := []struct {
		name, yaml string
		want       config.Cluster
		errs       []string
	}{
		{"none", "", config.Cluster{}, nil},
		{"lists", `cluster:
  natsEmbed: 127.0.0.1:17001
  natsRoutes: [nats-route://127.0.0.1:17001, nats-route://127.0.0.1:17002]
  node: n1
  publicURL: https://n1.example.com/
`, config.Cluster{NATSEmbed: "127.0.0.1:17001", NATSRoutes: config.List{"nats-route://127.0.0.1:17001", "nats-route://127.0.0.1:17002"},
			Node: "n1", PublicURL: "https://n1.example.com/"}, nil},
		{"comma-separated, as on the command line", "cluster:\n  nats: nats://a:4222, nats://b:4222\n",
			config.Cluster{NATS: config.List{"nats://a:4222", "nats://b:4222"}}, nil},
		{"nats and natsEmbed", "cluster:\n  nats: [nats://a:4222]\n  natsEmbed: 127.0.0.1:1\n", config.Cluster{}, []string{"cluster.natsEmbed", "excludes"}},
		{"routes without natsEmbed", "cluster:\n  natsRoutes: nats-route://a:1\n", config.Cluster{}, []string{"cluster.natsRoutes", "needs cluster.natsEmbed"}},
		{"a bad URL", "cluster:\n  nats: [http://a:4222]\n", config.Cluster{}, []string{"cluster.nats[0]", `want nats`}},
		{"a bad route", "cluster:\n  natsEmbed: 127.0.0.1:1\n  natsRoutes: [127.0.0.1:2]\n", config.Cluster{}, []string{"cluster.natsRoutes[0]"}},
		{"a bad embed address", "cluster:\n  natsEmbed: seventeen\n", config.Cluster{}, []string{"cluster.natsEmbed", "host:port"}},
		{"a bad public URL", "cluster:\n  publicURL: n1.example.com\n", config.Cluster{}, []string{"cluster.publicURL"}},
		{"a node name with a space", "cluster:\n  node: n 1\n", config.Cluster{}, []string{"cluster.node"}},
		{"a map for a list", "cluster:\n  nats: {a: b}\n", config.Cluster{}, []string{"list of strings"}},
		{"an unknown field", "cluster:\n  natsRoute: nats-route://a:1\n", config.Cluster{}, []string{"natsRoute"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := config.Parse([]byte(apps + tt.yaml))
			if len(tt.errs) > 0 {
				wantErr(t, err, tt.errs...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.Cluster, tt.want) {
				t.Fatalf("cluster = %+v, want %+v", c.Cluster, tt.want)
			}
		})
	}
}

// TestSFULimits: the sfu: section's limits default from the benchmark,
// -1 lifts one, anything below is refused, and NodeLimits scales the
// tracks by the cores.
func TestSFULimits(t *testing.T) {
	const app = `apps:
  - key: 0f6a7c3e-1d2b-4c5a-9e8f-112233445566
    secret: a-secret-of-16-chars
`
	tests := []struct {
		name                string
		yaml                string
		want                config.SFU
		participants, downs int // NodeLimits(2)
	}{
		{"absent", "", config.DefaultSFU(), 1000, 500},
		{"zero", "sfu:\n  maxParticipants: 0\n  maxTracksPerCPU: 0\n", config.DefaultSFU(), 1000, 500},
		{"set", "sfu:\n  maxParticipants: 40\n  maxTracksPerCPU: 100\n", config.SFU{MaxParticipants: 40, MaxTracksPerCPU: 100}, 40, 200},
		{"lifted", "sfu:\n  maxParticipants: -1\n  maxTracksPerCPU: -1\n", config.SFU{MaxParticipants: -1, MaxTracksPerCPU: -1}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse([]byte(app + tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if c.SFU != tt.want {
				t.Errorf("sfu = %+v, want %+v", c.SFU, tt.want)
			}
			if p, d := c.SFU.NodeLimits(2); p != tt.participants || d != tt.downs {
				t.Errorf("NodeLimits(2) = %d, %d, want %d, %d", p, d, tt.participants, tt.downs)
			}
		})
	}
	for _, bad := range []string{"sfu:\n  maxParticipants: -2\n", "sfu:\n  maxTracksPerCPU: -5\n"} {
		if _, err := config.Parse([]byte(app + bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	if d, err := config.Dev(); err != nil || d.SFU != config.DefaultSFU() {
		t.Errorf("dev mode's sfu: %+v, %v", d.SFU, err)
	}
}
