package main

import (
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/skywasm/skywasm/server/config"
)

// TestClusterCompose checks docs/cluster/compose.yaml, which no test can
// start here (there is no docker): it parses, its NATS servers form one
// JetStream cluster, and each skywasm node's command is one serve accepts,
// joining those servers under its own name with a URL it publishes.
func TestClusterCompose(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../docs/cluster/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Services map[string]struct {
			Image   string   `yaml:"image"`
			Command []string `yaml:"command"`
			Ports   []string `yaml:"ports"`
			Volumes []string `yaml:"volumes"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	if _, err := config.Load("../../docs/cluster/skywasm.yaml"); err != nil {
		t.Fatalf("the compose cluster's config: %v", err)
	}
	// Compose fills ${VAR:-default} in; the test takes the default.
	vars := regexp.MustCompile(`\$\{[A-Z_]+:-([^}]*)\}`)
	natsNames := []string{"nats1", "nats2", "nats3"}
	var clientURLs []string
	for _, name := range natsNames {
		s, ok := doc.Services[name]
		if !ok {
			t.Fatalf("no service %s", name)
		}
		cmd := strings.Join(s.Command, " ")
		if !strings.HasPrefix(s.Image, "nats:") || !strings.Contains(cmd, "--jetstream") || !strings.Contains(cmd, "--cluster_name skywasm") {
			t.Errorf("%s: image %q, command %q: want a nats image with JetStream in cluster skywasm", name, s.Image, cmd)
		}
		i := slices.Index(s.Command, "--routes")
		if i < 0 || i+1 == len(s.Command) {
			t.Fatalf("%s has no --routes", name)
		}
		for _, other := range natsNames {
			if other != name && !strings.Contains(s.Command[i+1], "nats://"+other+":6222") {
				t.Errorf("%s's routes %q lack %s", name, s.Command[i+1], other)
			}
		}
		clientURLs = append(clientURLs, "nats://"+name+":4222")
	}
	seen := map[string]bool{}
	for _, name := range []string{"skywasm1", "skywasm2", "skywasm3"} {
		s, ok := doc.Services[name]
		if !ok {
			t.Fatalf("no service %s", name)
		}
		if len(s.Command) == 0 || s.Command[0] != "serve" {
			t.Fatalf("%s: command %q is not serve", name, s.Command)
		}
		args := make([]string, len(s.Command)-1)
		for i, a := range s.Command[1:] {
			args[i] = vars.ReplaceAllString(a, "$1")
		}
		cl, _, stderr := newCLI(nil)
		fs, o := cl.serveFlags()
		if err := fs.parse(cl.getenv, args); err != nil {
			t.Fatalf("%s: serve refuses %q: %v\n%s", name, args, err, stderr)
		}
		if got := splitList(o.cluster.nats); !slices.Equal(got, clientURLs) {
			t.Errorf("%s joins %q, want %q", name, got, clientURLs)
		}
		if o.cluster.node != name || seen[o.cluster.node] {
			t.Errorf("%s is node %q", name, o.cluster.node)
		}
		seen[o.cluster.node] = true
		_, port, err := net.SplitHostPort(o.addr)
		if err != nil {
			t.Fatalf("%s: -addr %q: %v", name, o.addr, err)
		}
		if u, err := url.Parse(o.cluster.publicURL); err != nil || u.Port() != port {
			t.Errorf("%s: -public-url %q is not on its port %s", name, o.cluster.publicURL, port)
		}
		if !slices.Contains(s.Ports, port+":"+port+"/tcp") || !slices.Contains(s.Ports, port+":"+port+"/udp") {
			t.Errorf("%s publishes %q, want %s over TCP (signaling) and UDP (the SFU) on the same port", name, s.Ports, port)
		}
		if !slices.Contains(s.Volumes, "./skywasm.yaml:"+o.config+":ro") {
			t.Errorf("%s reads %s, which is not skywasm.yaml mounted: %q", name, o.config, s.Volumes)
		}
	}
}
