package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Cluster is the `cluster:` section: how this node joins a cluster of
// skywasm nodes on NATS. Each field mirrors a serve flag of the same
// meaning (-nats, -nats-embed, -nats-routes, -node, -public-url), and a
// flag or its SKYWASM_* variable overrides it. An empty section runs a
// single node.
type Cluster struct {
	// NATS are the URLs (nats://host:4222) of an existing NATS deployment
	// with JetStream to join the cluster through.
	NATS List `yaml:"nats"`
	// NATSEmbed is the host:port an embedded nats-server takes cluster
	// routes on; it excludes NATS.
	NATSEmbed string `yaml:"natsEmbed"`
	// NATSRoutes are the embedded servers' route URLs
	// (nats-route://host:port), this node's own may be among them.
	NATSRoutes List `yaml:"natsRoutes"`
	// Node names this node, unique in the cluster.
	Node string `yaml:"node"`
	// PublicURL is what the dispatcher tells clients of this node to dial.
	PublicURL string `yaml:"publicURL"`
}

// List is a list of strings written either as a YAML sequence or, as on
// the command line, as one comma-separated string.
type List []string

// UnmarshalYAML takes a sequence of strings or one comma-separated string.
func (l *List) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		var s string
		if err := n.Decode(&s); err != nil {
			return err
		}
		*l = nil
		for item := range strings.SplitSeq(s, ",") {
			if item = strings.TrimSpace(item); item != "" {
				*l = append(*l, item)
			}
		}
		return nil
	}
	var items []string
	if err := n.Decode(&items); err != nil {
		return fmt.Errorf("line %d: want a list of strings or one comma-separated string", n.Line)
	}
	*l = items
	return nil
}

// String writes l as the command line does.
func (l List) String() string { return strings.Join(l, ",") }

// validate reports every problem of the section, each naming its field.
func (c Cluster) validate() []error {
	var errs []error
	fail := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("cluster.%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if len(c.NATS) > 0 && c.NATSEmbed != "" {
		fail("natsEmbed", "excludes cluster.nats: join an existing NATS or run one inside")
	}
	if len(c.NATSRoutes) > 0 && c.NATSEmbed == "" {
		fail("natsRoutes", "needs cluster.natsEmbed")
	}
	for i, u := range c.NATS {
		if err := checkURL(u, "nats", "tls", "ws", "wss"); err != nil {
			fail(fmt.Sprintf("nats[%d]", i), "%q %v", u, err)
		}
	}
	if c.NATSEmbed != "" {
		if _, _, err := net.SplitHostPort(c.NATSEmbed); err != nil {
			fail("natsEmbed", "%q is not host:port", c.NATSEmbed)
		}
	}
	for i, u := range c.NATSRoutes {
		if err := checkURL(u, "nats-route", "nats"); err != nil {
			fail(fmt.Sprintf("natsRoutes[%d]", i), "%q %v", u, err)
		}
	}
	if strings.ContainsAny(c.Node, " \t\r\n") {
		fail("node", "%q has white space", c.Node)
	}
	if c.PublicURL != "" {
		if err := checkURL(c.PublicURL, "http", "https"); err != nil {
			fail("publicURL", "%q %v", c.PublicURL, err)
		}
	}
	return errs
}

// checkURL reports whether u is scheme://host[:port] with one of schemes.
func checkURL(u string, schemes ...string) error {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return errors.New("is not a URL with a host")
	}
	for _, s := range schemes {
		if p.Scheme == s {
			return nil
		}
	}
	return fmt.Errorf("has scheme %q, want %s", p.Scheme, strings.Join(schemes, " or "))
}
