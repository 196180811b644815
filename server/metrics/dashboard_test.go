package metrics_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
	"go.yaml.in/yaml/v3"

	"github.com/skywasm/skywasm/server"
	"github.com/skywasm/skywasm/server/cluster"
	"github.com/skywasm/skywasm/server/config"
	"github.com/skywasm/skywasm/server/metrics"
	"github.com/skywasm/skywasm/server/routing"
	"github.com/skywasm/skywasm/server/sfu"
	"github.com/skywasm/skywasm/server/turn"
)

const (
	dashboardFile  = "../../docs/grafana/skywasm.json"
	prometheusFile = "../../docs/prometheus/prometheus.yml"
	testKey        = "0f6a7c3e-1d2b-4c5a-9e8f-112233445566"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// startServer runs a whole server with every plane (signaling, SFU,
// TURN) on loopback, and returns its base URL.
func startServer(t *testing.T) string {
	t.Helper()
	return startNode(t, false)
}

// startNode is startServer, as a one-node cluster on an embedded
// nats-server if clustered.
func startNode(t *testing.T, clustered bool) string {
	t.Helper()
	cfg := &config.Config{Apps: []config.App{{
		Key: testKey, Secret: "test-secret-0123456789",
		Permissions: config.Permissions{SFU: true, TURN: true},
		Limits:      config.DefaultLimits(),
	}}}
	tcfg := turn.DefaultConfig()
	tcfg.UDPAddr, tcfg.TCPAddr = "127.0.0.1:0", "127.0.0.1:0"
	fcfg := sfu.DefaultConfig()
	opts := server.Options{Config: cfg, SFU: &fcfg, TURN: &tcfg}
	if clustered {
		joinCluster(t, &opts)
	}
	srv, err := server.New(opts)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		hs.Close()
	})
	return hs.URL
}

// joinCluster makes opts a node of a one-node cluster on an embedded
// nats-server, with the cluster's metrics.
func joinCluster(t *testing.T, opts *server.Options) {
	t.Helper()
	dir := t.TempDir()
	ns, err := cluster.Embed(cluster.EmbedConfig{Name: "n0", Listen: "127.0.0.1:0", StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := cluster.ConnectEmbedded(ns, "n0")
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.NewCluster(nil)
	cfg := cluster.DefaultConfig()
	cfg.Node, cfg.Metrics = "n0", m
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := cluster.New(ctx, nc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = r.Close()
		nc.Close()
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	opts.Router, opts.Collectors = r, m.Collectors()
	opts.PinSFU = func(local routing.SFU) (routing.SFU, error) { return r.PinSFU(local) }
}

// scrape returns the metric names on url's /metrics: every sample's name
// and every family named in a # TYPE line.
func scrape(t *testing.T, url string) map[string]bool {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	names := map[string]bool{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			names[strings.Fields(rest)[0]] = true
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		names[line[:strings.IndexAny(line, "{ ")]] = true
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading %s: %v", url, err)
	}
	return names
}

// registered returns the names of skywasm's own metrics as declared,
// with whether each has variable labels (a vector shows no sample until
// its first label value is used).
func registered() map[string]bool {
	reg, _ := metrics.New()
	metrics.NewSFU(reg)
	metrics.NewTURN(reg)
	metrics.NewCluster(reg)
	ch := make(chan *prometheus.Desc)
	go func() {
		reg.Describe(ch)
		close(ch)
	}()
	fq := regexp.MustCompile(`fqName: "([^"]+)".*variableLabels: \{([^}]*)\}`)
	out := map[string]bool{}
	for d := range ch {
		if m := fq.FindStringSubmatch(d.String()); m != nil && strings.HasPrefix(m[1], "skywasm_") {
			out[m[1]] = m[2] != ""
		}
	}
	return out
}

// dashboardQueries returns every PromQL expression of the dashboard: its
// panels' targets (rows' nested panels too) and its template variables.
func dashboardQueries(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	type target struct {
		Expr string `json:"expr"`
	}
	type panel struct {
		ID      int       `json:"id"`
		Type    string    `json:"type"`
		Title   string    `json:"title"`
		Targets []target  `json:"targets"`
		Panels  []panel   `json:"panels"`
		Grid    *struct{} `json:"gridPos"`
	}
	var dash struct {
		UID        string  `json:"uid"`
		Title      string  `json:"title"`
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if dash.UID == "" || dash.Title == "" {
		t.Errorf("%s: no uid or title", dashboardFile)
	}
	var exprs []string
	ids := map[int]bool{}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if ids[p.ID] {
				t.Errorf("panel %q: id %d used twice", p.Title, p.ID)
			}
			ids[p.ID] = true
			if p.Grid == nil {
				t.Errorf("panel %q has no gridPos", p.Title)
			}
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("panel %q queries nothing", p.Title)
			}
			for _, tg := range p.Targets {
				exprs = append(exprs, tg.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(dash.Panels)
	for _, v := range dash.Templating.List {
		if q, ok := v.Query.(map[string]any); ok {
			if s, ok := q["query"].(string); ok {
				exprs = append(exprs, s)
			}
		}
	}
	return exprs
}

// metricName matches the metric names a query can hold: skywasm's and the
// Go and process collectors'.
var metricName = regexp.MustCompile(`\b(?:skywasm|go|process)_[a-z0-9_]+\b`)

// TestDashboardMetricsExist checks that every metric the Grafana dashboard
// queries exists on a running server's /metrics, and that every skywasm_*
// metric the server declares is on the dashboard: neither can drift from
// the code.
func TestDashboardMetricsExist(t *testing.T) {
	base := startNode(t, true)

	// A refused connection, so that a labelled counter has a sample.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if c, _, err := websocket.Dial(ctx, strings.Replace(base, "http", "ws", 1)+"/v1/signaling?key=00000000-0000-4000-8000-000000000000", nil); err == nil {
		_, _, _ = c.Read(ctx) // the server's ERROR, then its close
		c.CloseNow()
	}

	scraped := scrape(t, base+"/metrics")
	declared := registered()
	if len(declared) == 0 {
		t.Fatal("no skywasm_ metric is declared")
	}
	queried := map[string]bool{}
	for _, expr := range dashboardQueries(t) {
		for _, name := range metricName.FindAllString(expr, -1) {
			queried[name] = true
		}
	}
	var names []string
	for name := range queried {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		switch labelled, ok := declared[name]; {
		case scraped[name]:
		case ok && labelled:
			// A vector with no label value used yet: declared, so it
			// appears on the first event.
			t.Logf("%s: declared with labels, no sample yet", name)
		default:
			t.Errorf("the dashboard queries %s, which the server's /metrics does not have", name)
		}
	}
	// A histogram is queried by its buckets, and scraped as its family
	// and its _bucket, _sum and _count.
	family := func(name string) string {
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suffix); ok {
				if _, ok := declared[base]; ok {
					return base
				}
			}
		}
		return name
	}
	for name := range declared {
		if !queried[name] && !queried[name+"_bucket"] {
			t.Errorf("%s is declared in server/metrics but not on the dashboard", name)
		}
	}
	for name := range scraped {
		if strings.HasPrefix(name, "skywasm_") && !queried[name] && !queried[family(name)+"_bucket"] {
			t.Errorf("%s is on /metrics but not on the dashboard", name)
		}
	}
}

// TestPrometheusExample checks the example scrape configuration: it is
// YAML Prometheus reads, its target is skywasm serve's default address,
// and its metrics_path serves the metrics on a running server.
func TestPrometheusExample(t *testing.T) {
	data, err := os.ReadFile(prometheusFile)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			MetricsPath   string `yaml:"metrics_path"`
			Scheme        string `yaml:"scheme"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(false)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("%s: %v", prometheusFile, err)
	}
	if len(cfg.ScrapeConfigs) != 1 {
		t.Fatalf("%s: %d scrape configs, want 1", prometheusFile, len(cfg.ScrapeConfigs))
	}
	sc := cfg.ScrapeConfigs[0]
	if sc.JobName == "" || sc.Scheme != "http" {
		t.Errorf("job %q scheme %q, want a name and http", sc.JobName, sc.Scheme)
	}
	if len(sc.StaticConfigs) != 1 || !slices.Equal(sc.StaticConfigs[0].Targets, []string{config.DevAddr}) {
		t.Errorf("targets %+v, want [%s], skywasm serve's default address", sc.StaticConfigs, config.DevAddr)
	}
	names := scrape(t, startServer(t)+sc.MetricsPath)
	if !names["skywasm_signaling_peers"] || !names["go_goroutines"] {
		t.Errorf("%s on a running server lacks skywasm_signaling_peers or go_goroutines", sc.MetricsPath)
	}
}
