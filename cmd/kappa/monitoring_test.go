package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"gopkg.in/yaml.v3"

	"github.com/kappa-serverless/kappa/node/proccluster"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// documentedMetric is a row of docs/metrics.md.
type documentedMetric struct {
	kind   string // counter, gauge, histogram ("" for a family like go_*)
	labels []string
}

var (
	backticked  = regexp.MustCompile("`([^`]+)`")
	parenthesed = regexp.MustCompile(`\([^)]*\)`)
)

// docMetrics reads docs/metrics.md's tables: name → type and labels;
// names ending in * (go_*) are families of the standard collectors.
func docMetrics(t *testing.T) map[string]documentedMetric {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]documentedMetric{}
	for _, line := range strings.Split(string(b), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 5 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		name := strings.Trim(strings.TrimSpace(cells[1]), "`")
		var labels []string
		for _, m := range backticked.FindAllStringSubmatch(parenthesed.ReplaceAllString(cells[3], ""), -1) {
			labels = append(labels, m[1])
		}
		out[name] = documentedMetric{kind: strings.TrimSpace(cells[2]), labels: labels}
	}
	if len(out) < 20 {
		t.Fatalf("docs/metrics.md: only %d metrics found in its tables", len(out))
	}
	return out
}

// documented says whether a metric name (a histogram's _bucket, _sum and
// _count series included) is in docs/metrics.md.
func documented(docs map[string]documentedMetric, name string) bool {
	if _, ok := docs[name]; ok {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if d, ok := docs[strings.TrimSuffix(name, suffix)]; ok && strings.HasSuffix(name, suffix) && d.kind == "histogram" {
			return true
		}
	}
	for doc := range docs {
		if strings.HasSuffix(doc, "*") && strings.HasPrefix(name, strings.TrimSuffix(doc, "*")) {
			return true
		}
	}
	return false
}

// scrapedFamily is one metric family in a /metrics answer.
type scrapedFamily struct {
	kind   string
	labels map[string]bool
	values map[string]float64 // by the sample's label text
}

var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)`)

// scrape reads Prometheus' text format into families by name.
func scrape(t *testing.T, r io.Reader, into map[string]*scrapedFamily) {
	t.Helper()
	family := func(name string) *scrapedFamily {
		if into[name] == nil {
			into[name] = &scrapedFamily{labels: map[string]bool{}, values: map[string]float64{}}
		}
		return into[name]
	}
	sc := bufio.NewScanner(r)
	var current string
	for sc.Scan() {
		line := sc.Text()
		if f := strings.Fields(line); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			current = f[2]
			family(current).kind = f[3]
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		fam := family(current)
		for _, kv := range strings.Split(strings.Trim(m[2], "{}"), ",") {
			if k, _, ok := strings.Cut(kv, "="); ok && k != "le" && k != "quantile" {
				fam.labels[k] = true
			}
		}
		var v float64
		if err := json.Unmarshal([]byte(m[3]), &v); err == nil && strings.HasPrefix(m[1], current) {
			fam.values[m[1]+m[2]] = v
		}
	}
}

// Every metric a node exports is in docs/metrics.md with its type and
// labels, and every documented metric is exported by some node of a
// 3-node cluster that ran a job (leader-only and follower-only ones
// included).
func TestMetricsMatchTheDocs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	c := startCluster(t, proccluster.Options{Nodes: 3, MetricsAddr: proccluster.FreeLoopback})
	env := []string{"KAPPA_CLUSTER=" + strings.Join(c.Addrs(), ","), "KAPPA_CERTS_DIR=" + c.CertsDir()}
	if r := kappaEnv(t, env, "run", example("fib.py"), "--event", `{"n": 5}`); r.code != 0 {
		t.Fatalf("run: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	leader, err := c.WaitLeader(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	refuseAnonymousCall(t, c, leader)
	families := map[string]*scrapedFamily{}
	var leaderFamilies map[string]*scrapedFamily
	for _, n := range c.Nodes {
		base, client, err := c.NodeHTTP(n.MetricsAddr)
		if err != nil {
			t.Fatal(err)
		}
		mine := map[string]*scrapedFamily{}
		// A follower reports its last contact once it has had one.
		waitFor(t, 10*time.Second, "metrics of "+n.ID, func() bool {
			resp, err := client.Get(base + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			mine = map[string]*scrapedFamily{}
			scrape(t, resp.Body, mine)
			_, contact := mine["kappa_raft_last_contact_seconds"]
			return n == leader || contact
		})
		for name, f := range mine {
			if families[name] == nil {
				families[name] = f
			}
			for l := range f.labels {
				families[name].labels[l] = true
			}
		}
		if n == leader {
			leaderFamilies = mine
		}
	}
	docs := docMetrics(t)
	for name, f := range families {
		if !documented(docs, name) {
			t.Errorf("%s (%s) is exported but not in docs/metrics.md", name, f.kind)
			continue
		}
		d, ok := docs[name]
		if !ok {
			continue // a family of the standard collectors
		}
		if d.kind != f.kind {
			t.Errorf("%s: docs/metrics.md says %s, the node exports a %s", name, d.kind, f.kind)
		}
		var got []string
		for l := range f.labels {
			got = append(got, l)
		}
		sort.Strings(got)
		want := append([]string(nil), d.labels...)
		sort.Strings(want)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: labels %v exported, %v documented", name, got, want)
		}
	}
	for name := range docs {
		if strings.HasSuffix(name, "*") {
			prefix, found := strings.TrimSuffix(name, "*"), false
			for got := range families {
				found = found || strings.HasPrefix(got, prefix)
			}
			if !found {
				t.Errorf("docs/metrics.md lists %s but no node exports such a metric", name)
			}
		} else if families[name] == nil {
			t.Errorf("docs/metrics.md lists %s but no node exports it", name)
		}
	}
	// The numbers mean what the docs say.
	for sample, want := range map[string]float64{
		`kappa_is_leader`:                    1,
		`kappa_raft_voters`:                  3,
		`kappa_raft_state{state="leader"}`:   1,
		`kappa_invocations_running`:          0,
		`kappa_build_info{command_version="`: 1,
	} {
		if got, ok := findSample(leaderFamilies, sample); !ok || got != want {
			t.Errorf("leader: %s = %v (found %v), want %v", sample, got, ok, want)
		}
	}
	for _, sample := range []string{`kappa_jobs{state="succeeded"}`, `kappa_invocations_total{outcome="ok"}`,
		`kappa_store_bytes_total{op="put"}`, `kappa_raft_term`, `kappa_log_entry_bytes_count`} {
		if got, ok := findSample(leaderFamilies, sample); !ok || got < 1 {
			t.Errorf("leader: %s = %v (found %v), want at least 1", sample, got, ok)
		}
	}
	if _, ok := findSample(leaderFamilies, `kappa_raft_peer_replication_lag_entries{peer="n`); !ok {
		t.Error("leader: no kappa_raft_peer_replication_lag_entries of its peers")
	}
}

// findSample finds the first sample whose name and labels start with
// prefix.
func findSample(families map[string]*scrapedFamily, prefix string) (float64, bool) {
	for _, f := range families {
		for s, v := range f.values {
			if s == prefix || strings.HasPrefix(s, prefix) && strings.ContainsAny(prefix, "{") {
				return v, true
			}
		}
	}
	return 0, false
}

// metricNames are the metric names a PromQL expression reads (ours, the
// standard collectors' and node_exporter's).
var metricNames = regexp.MustCompile(`\b(?:kappa|process|go|node)_[a-zA-Z0-9_]+`)

func checkExprMetrics(t *testing.T, where, expr string, docs map[string]documentedMetric) {
	t.Helper()
	for _, name := range metricNames.FindAllString(expr, -1) {
		if strings.HasPrefix(name, "node_") { // node_exporter's, named in operations.md
			continue
		}
		if !documented(docs, name) {
			t.Errorf("%s reads %s, which docs/metrics.md does not list", where, name)
		}
	}
}

// headingAnchors are the GitHub anchors of a Markdown file's headings.
func headingAnchors(t *testing.T, file string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	drop := regexp.MustCompile(`[^a-z0-9 _-]`)
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "#") {
			h := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
			out[strings.ReplaceAll(drop.ReplaceAllString(h, ""), " ", "-")] = true
		}
	}
	return out
}

// The shipped alert rules load in Prometheus (promtool check rules, and
// their unit tests pass), read only documented metrics, and each points at
// a runbook section of docs/operations.md that exists.
func TestAlertRules(t *testing.T) {
	rules := filepath.Join("..", "..", "deploy", "prometheus", "kappa-alerts.yml")
	if promtool, err := exec.LookPath("promtool"); err == nil {
		for _, args := range [][]string{{"check", "rules", rules}, {"test", "rules", strings.TrimSuffix(rules, ".yml") + "_test.yml"}} {
			if out, err := exec.Command(promtool, args...).CombinedOutput(); err != nil {
				t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
	} else {
		t.Log("promtool not installed (Debian package prometheus): checking the rules' structure only")
	}
	b, err := os.ReadFile(rules)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	docs := docMetrics(t)
	anchors := headingAnchors(t, filepath.Join("..", "..", "docs", "operations.md"))
	const runbooks = "https://github.com/kappa-serverless/kappa/blob/main/docs/operations.md#"
	n := 0
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			n++
			if r.Alert == "" || r.Expr == "" || r.Annotations["summary"] == "" {
				t.Errorf("rule %+v: want alert, expr and a summary", r)
			}
			checkExprMetrics(t, r.Alert, r.Expr, docs)
			url := r.Annotations["runbook_url"]
			if !strings.HasPrefix(url, runbooks) || !anchors[strings.TrimPrefix(url, runbooks)] {
				t.Errorf("%s: runbook_url %q is not a section of docs/operations.md", r.Alert, url)
			}
		}
	}
	if n < 6 {
		t.Errorf("%d alert rules, want the six kinds of docs/operations.md's Alerts", n)
	}
}

// The Grafana dashboard is valid JSON whose every query reads documented
// metrics.
func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "grafana", "kappa.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	docs := docMetrics(t)
	queries := 0
	for _, p := range dash.Panels {
		for _, q := range p.Targets {
			queries++
			if len(metricNames.FindAllString(q.Expr, -1)) == 0 {
				t.Errorf("panel %q: query %q reads no metric", p.Title, q.Expr)
			}
			checkExprMetrics(t, "panel "+p.Title, q.Expr, docs)
		}
	}
	if dash.Title == "" || queries < 10 {
		t.Errorf("dashboard %q has %d queries", dash.Title, queries)
	}
}

// refuseAnonymousCall makes n refuse one call (ListJobs without a client
// certificate), so kappa_api_refused_total has a series.
func refuseAnonymousCall(t *testing.T, c *proccluster.Cluster, n *proccluster.Node) {
	t.Helper()
	conn := anonymousConn(t, c, n)
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := wire.NewClientServiceClient(conn).ListJobs(ctx, &wire.ListJobsRequest{})
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("anonymous ListJobs: %v, want Unauthenticated", err)
	}
}

// anonymousConn dials n's API over TLS, trusting the cluster's CA, with no
// client certificate.
func anonymousConn(t *testing.T, c *proccluster.Cluster, n *proccluster.Node) *grpc.ClientConn {
	t.Helper()
	_, admin, err := c.NodeHTTP(n.APIAddr)
	if err != nil {
		t.Fatal(err)
	}
	cfg := admin.Transport.(*http.Transport).TLSClientConfig.Clone()
	cfg.GetClientCertificate, cfg.Certificates = nil, nil
	conn, err := grpc.NewClient(n.APIAddr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	if err != nil {
		t.Fatal(err)
	}
	return conn
}
