package main

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kappa-serverless/kappa/node/nodetest"
	"github.com/kappa-serverless/kappa/node/proccluster"
)

// A new leader whose wall clock runs two retentions ahead deletes no
// finished job early: retention is judged by the cluster clock, which
// counts only time the nodes measured, not by the leader's wall clock
// against a finish time another leader's clock stamped. The job still
// goes (to the archive) once its retention has really passed. (Also: `kappa run --priority`
// and `kappa jobs show` on a cluster.)
func TestALeaderWithAClockAheadDeletesNothingEarly(t *testing.T) {
	const retention = 20 * time.Second
	metrics, err := proccluster.FreeAddr("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	c, err := proccluster.Start(proccluster.Options{Binary: nodetest.KappaBinary(t), Dir: t.TempDir(), Nodes: 3,
		ServerArgs: []string{"--log-level", "warn", "--retention", retention.String(), "--gc-interval", "200ms"},
		Addrs: func(i int) (raft, api string, extra []string, err error) {
			if raft, err = proccluster.FreeAddr("127.0.0.1"); err == nil {
				api, err = proccluster.FreeAddr("127.0.0.1")
			}
			if i == 2 {
				extra = []string{"--test-clock-offset", (2 * retention).String(), "--metrics-addr", metrics}
			}
			return raft, api, extra, err
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(5 * time.Second)
	t.Setenv("KAPPA_CERTS_DIR", c.CertsDir())
	skewed := c.Nodes[2]
	base, web, err := c.NodeHTTP(metrics)
	if err != nil {
		t.Fatal(err)
	}
	metric := func(name string) float64 { return gauge(t, web, base, name) }
	nodetest.Eventually(t, 30*time.Second, "the cluster runs command version 2", func() bool {
		st, err := c.Status(skewed, time.Second)
		return err == nil && st.GetClusterCommandVersion() >= 2
	})
	leader, err := c.WaitLeader(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if leader == skewed {
		t.Fatal("the node with the skewed clock leads from the start; the test wants it to take over")
	}
	prog := nodetest.WriteFile(t, "answer.py", "def handler(event, context):\n    return 42\n")
	if r := kappa(t, "run", "--cluster", strings.Join(c.Addrs(), ","), "--priority", "2", prog); r.code != 0 || strings.TrimSpace(r.stdout) != "42" {
		t.Fatalf("run: exit %d %q\n%s", r.code, r.stdout, r.stderr)
	}
	finished := time.Now()
	if r := kappa(t, "jobs", "show", "j1", "--cluster", strings.Join(c.Addrs(), ",")); r.code != 0 || !strings.Contains(r.stdout, "priority") || !strings.Contains(r.stdout, "2\n") {
		t.Fatalf("jobs show: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.Client().TransferLeader(ctx, skewed.ID); err != nil {
		t.Fatal(err)
	}
	// The skewed leader runs garbage collection rounds; by its wall clock
	// the job finished two retentions ago.
	nodetest.Eventually(t, 15*time.Second, "the skewed leader ran three collection rounds", func() bool {
		return metric("kappa_gc_rounds_total") >= 3
	})
	if since := time.Since(finished); since > retention-2*time.Second {
		t.Fatalf("the test itself was too slow (%s since the job finished) to tell early from on time", since)
	}
	if st, err := c.Client().Job(ctx, 1, false); err != nil || st.GetArchived() {
		t.Fatalf("%s after it finished, within its retention of %s, the job is gone (archived: %v): %v",
			time.Since(finished).Round(time.Millisecond), retention, st.GetArchived(), err)
	}
	if n := metric("kappa_gc_expired_jobs_total"); n != 0 {
		t.Fatalf("the skewed leader expired %v jobs", n)
	}
	// Forgotten, the cluster answers from the job's archive.
	nodetest.Eventually(t, retention+30*time.Second, "the job goes to the archive once its retention passed", func() bool {
		st, err := c.Client().Job(context.Background(), 1, false)
		return st.GetArchived() || status.Code(err) == codes.NotFound
	})
	if since := time.Since(finished); since < retention-time.Second {
		t.Fatalf("the job was deleted %s after it finished, before its retention of %s", since, retention)
	}
}

// gauge reads one gauge from a node's /metrics at base.
func gauge(t *testing.T, web *http.Client, base, name string) float64 {
	t.Helper()
	resp, err := web.Get(base + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s: %v", name, err)
			}
			return f
		}
	}
	t.Fatalf("no metric %s at %s", name, base)
	return 0
}
