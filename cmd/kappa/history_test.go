package main

import (
	"bytes"
	"context"
	"fmt"
	"github.com/kappa-serverless/kappa/node/ui"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/node/nodetest"
	"github.com/kappa-serverless/kappa/node/proccluster"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// historyCluster runs n `kappa server` processes sharing a `kappa
// lambda-local` (so lambdas outlive the node that launched them), points
// the CLI at its certificates, and waits until the cluster records job
// histories (command version 2).
func historyCluster(t *testing.T, nodes int, serverArgs ...string) *proccluster.Cluster {
	t.Helper()
	lambdaAddr, err := proccluster.FreeAddr("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	shared := []string{"--lambda-timeout", "3s", "--concurrency", "8"}
	c := startCluster(t, proccluster.Options{Nodes: nodes, LambdaLocal: proccluster.LambdaLocal{Addr: lambdaAddr, Args: shared},
		ServerArgs: append(shared, serverArgs...)})
	t.Setenv("KAPPA_CERTS_DIR", c.CertsDir())
	nodetest.Eventually(t, 30*time.Second, "command version 2 on every node", func() bool {
		for _, n := range c.Nodes {
			if st, err := c.Status(n, time.Second); err != nil || st.GetClusterCommandVersion() < 2 {
				return false
			}
		}
		return true
	})
	return c
}

// jobCheckpoints reads a job's checkpoint count (0 while it is unknown).
func jobCheckpoints(c *proccluster.Cluster, job uint64) uint64 {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := c.Client().Job(ctx, job, true)
	if err != nil {
		return 0
	}
	return st.GetCheckpoints()
}

// converged waits until every node applied the same log and holds the
// same state (their state hashes cover the histories).
func converged(t *testing.T, c *proccluster.Cluster) {
	t.Helper()
	var hashes []string
	nodetest.Eventually(t, time.Minute, "equal state hashes on every node", func() bool {
		hashes = hashes[:0]
		for _, n := range c.Nodes {
			st, err := c.Status(n, time.Second)
			if err != nil {
				return false
			}
			hashes = append(hashes, fmt.Sprintf("%d:%s", st.GetAppliedIndex(), st.GetStateHash()))
		}
		for _, h := range hashes {
			if h != hashes[0] {
				return false
			}
		}
		return true
	})
}

const failoverProgram = `
import time
from kappa import checkpoint, spawn, wait

def step(i, n):
    acc = i
    for k in range(n):
        time.sleep(0.25)
        acc = (acc * 31 + k) % 1000003
        checkpoint()
    return acc

def handler(event, context):
    fs = []
    for i in range(event["tasks"]):
        fs.append(spawn(step, (i, event["steps"])))
    return sum(wait(*fs))
`

// A job lives through two leader failovers (the leader killed mid-job,
// twice): `kappa run` says so as it happens, and afterwards every node
// holds the same history (equal state hashes), which shows both leader
// changes and every launch of every task.
func TestJobHistorySurvivesTwoLeaderFailovers(t *testing.T) {
	c := historyCluster(t, 3)
	prog := nodetest.WriteFile(t, "failover.py", failoverProgram)
	run := exec.Command(nodetest.KappaBinary(t), "run", "--cluster", strings.Join(c.Addrs(), ","), prog, "--event", `{"tasks": 4, "steps": 60}`)
	var stdout, stderr bytes.Buffer
	run.Stdout, run.Stderr = &stdout, &stderr
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- run.Wait() }()
	var transitions []string
	for round := 1; round <= 2; round++ {
		before := jobCheckpoints(c, 1)
		nodetest.Eventually(t, time.Minute, "the job making progress", func() bool { return jobCheckpoints(c, 1) >= before+6 })
		leader, err := c.WaitLeader(30 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.Kill(leader)
		next, err := c.WaitLeader(30 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: killed leader %s, %s leads", round, leader.ID, next.ID)
		transitions = append(transitions, leader.ID+" → "+next.ID)
		if err := c.Restart(leader); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-exited:
		if err != nil || strings.TrimSpace(stdout.String()) == "" {
			t.Fatalf("run: %v\n%s\n%s", err, stdout.String(), stderr.String())
		}
	case <-time.After(5 * time.Minute):
		run.Process.Kill()
		t.Fatalf("the job did not finish:\n%s", stderr.String())
	}
	for _, tr := range transitions {
		if !regexp.MustCompile(`kappa: j1 survived a leader change \(` + tr + `\) at \d+\.\ds`).MatchString(stderr.String()) {
			t.Errorf("run did not say the job survived %s:\n%s", tr, stderr.String())
		}
	}

	converged(t, c)
	var first string
	for _, n := range c.Nodes {
		r := kappa(t, "jobs", "events", "j1", "--cluster", n.APIAddr)
		if r.code != 0 {
			t.Fatalf("events from %s: %+v", n.ID, r)
		}
		if first == "" {
			first = r.stdout
		} else if r.stdout != first {
			t.Fatalf("%s holds another history:\n%s\nthan %s:\n%s", n.ID, r.stdout, c.Nodes[0].ID, first)
		}
	}
	for _, tr := range transitions {
		if !strings.Contains(first, "leader changed: "+tr) {
			t.Errorf("the history lacks the leader change %s:\n%s", tr, first)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	job, err := c.Client().JobDetail(ctx, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	if job.GetState() != wire.JobState_JOB_SUCCEEDED || len(job.GetTasks()) != 5 {
		t.Fatalf("job %v", job)
	}
	for _, task := range job.GetTasks() {
		launched := regexp.MustCompile(fmt.Sprintf(`(?m) t%d launched \(epoch \d+\)`, task.GetTaskId())).FindAllString(first, -1)
		if len(launched) != int(task.GetLaunches()) || task.GetLaunches() == 0 {
			t.Errorf("t%d: %d launches, %d in the history:\n%s", task.GetTaskId(), task.GetLaunches(), len(launched), first)
		}
	}
	if strings.Contains(first, "dropped") {
		t.Errorf("the history dropped events:\n%s", first)
	}
}

const dependencyProgram = `
from kappa import checkpoint, spawn

def fetch(path):
    checkpoint()
    with open(path) as f:
        state = f.read().strip()
    if state != "up":
        raise ConnectionError("the service is " + state)
    return 42

def handler(event, context):
    f = spawn(fetch, (event["service"],))
    checkpoint()
    return f.wait() + 1
`

// A job fails on a crashing dependency; once the dependency is fixed,
// `kappa jobs retry` resumes it and it succeeds. A retry whose checkpoint
// is gone from the store is refused, naming it.
func TestRetryAfterTheDependencyIsFixed(t *testing.T) {
	c := historyCluster(t, 1)
	api := c.Nodes[0].APIAddr
	service := nodetest.WriteFile(t, "service", "down\n")
	prog := nodetest.WriteFile(t, "dependency.py", dependencyProgram)
	r := kappa(t, "run", "--cluster", api, prog, "--event", fmt.Sprintf(`{"service": %q}`, service))
	if r.code != 1 || !strings.Contains(r.stderr, "ConnectionError: the service is down") {
		t.Fatalf("run: %+v", r)
	}

	// Take the failed child's checkpoint away: the retry is refused.
	store := strings.TrimPrefix(c.Store(), "file://")
	ckpts, _ := filepath.Glob(filepath.Join(store, "jobs", "j1", "t2", "*.ckpt"))
	if len(ckpts) != 1 {
		t.Fatalf("the child's checkpoints: %v", ckpts)
	}
	hidden := ckpts[0] + ".away"
	if err := os.Rename(ckpts[0], hidden); err != nil {
		t.Fatal(err)
	}
	if r := kappa(t, "jobs", "retry", "j1", "--cluster", api); r.code == 0 || !strings.Contains(r.stderr, "the checkpoint of t2 (jobs/j1/t2/") {
		t.Fatalf("retry without the checkpoint: %+v", r)
	}
	if err := os.Rename(hidden, ckpts[0]); err != nil {
		t.Fatal(err)
	}

	if err := os.WriteFile(service, []byte("up\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = kappa(t, "jobs", "retry", "j1", "--cluster", api, "--reason", "the service is back")
	if r.code != 0 || !strings.Contains(r.stdout, "job j1 retried: t1, t2 run again") {
		t.Fatalf("retry: %+v", r)
	}
	ev := kappa(t, "jobs", "events", "j1", "--follow", "--cluster", api)
	if ev.code != 0 || !strings.Contains(ev.stdout, "job retried: the service is back: t1, t2") || !strings.HasSuffix(strings.TrimSpace(ev.stdout), "job succeeded") ||
		!strings.Contains(ev.stdout, "t2 failed: ConnectionError: the service is down") || !strings.Contains(ev.stdout, "t2 launched (epoch 2) for a retry of the job") {
		t.Fatalf("events: %+v", ev)
	}
	show := kappa(t, "jobs", "show", "j1", "--cluster", api)
	if show.code != 0 || !regexp.MustCompile(`state +succeeded`).MatchString(show.stdout) || !regexp.MustCompile(`result +43`).MatchString(show.stdout) ||
		!regexp.MustCompile(`retries +1`).MatchString(show.stdout) || !regexp.MustCompile(`(?m)^t2 +t1 +fetch +done +2 +2 +1 `).MatchString(show.stdout) {
		t.Fatalf("show: %+v", show)
	}
	if again := kappa(t, "jobs", "retry", "j1", "--cluster", api); again.code == 0 || !strings.Contains(again.stderr, "nothing to retry") {
		t.Fatalf("retrying a job that succeeded: %+v", again)
	}
}

// After its retention a job is archived: gone from the cluster and its
// keys gone from the store, it is still listed, shown and its (bounded)
// history read from the archive.
func TestArchivedJobsAndBoundedHistories(t *testing.T) {
	c := historyCluster(t, 1, "--retention", "1s", "--gc-interval", "200ms", "--job-history", "12")
	api := c.Nodes[0].APIAddr
	if r := kappa(t, "run", "--cluster", api, example("fib.py"), "--event", `{"n": 5}`); r.code != 0 || strings.TrimSpace(r.stdout) != "5" {
		t.Fatalf("run: %+v", r)
	}
	nodetest.Eventually(t, 30*time.Second, "the job archived", func() bool {
		r := kappa(t, "jobs", "list", "--cluster", api)
		return r.code == 0 && !strings.Contains(r.stdout, "j1 ")
	})
	list := kappa(t, "jobs", "list", "--archived", "--cluster", api)
	if list.code != 0 || !regexp.MustCompile(`(?m)^j1 +succeeded +\S*fib.py +15 +15 `).MatchString(list.stdout) {
		t.Fatalf("archived list: %+v", list)
	}
	show := kappa(t, "jobs", "show", "j1", "--cluster", api)
	if show.code != 0 || !strings.Contains(show.stdout, "archived") || !regexp.MustCompile(`result +5`).MatchString(show.stdout) ||
		strings.Count(show.stdout, " fib ") != 14 {
		t.Fatalf("archived show: %+v", show)
	}
	ev := kappa(t, "jobs", "events", "j1", "--cluster", api)
	lines := strings.Split(strings.TrimSpace(ev.stdout), "\n")
	if ev.code != 0 || len(lines) != 13 || !regexp.MustCompile(`^… \d+ older events dropped`).MatchString(lines[0]) || !strings.HasSuffix(lines[12], "job succeeded") {
		t.Fatalf("archived events: %+v", ev)
	}
	store := strings.TrimPrefix(c.Store(), "file://")
	var left []string
	filepath.WalkDir(filepath.Join(store, "jobs", "j1"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left = append(left, path)
		}
		return nil
	})
	if len(left) != 0 {
		t.Fatalf("the job's keys are still in the store: %v", left)
	}
	if _, err := os.Stat(filepath.Join(store, "archive", "j1.json")); err != nil {
		t.Fatal(err)
	}
}

// What `kappa run` says about a history: leader changes and relaunches
// after a lost lambda, nothing about ordinary launches.
func TestRunNotesNameFailoversAndLostLambdas(t *testing.T) {
	r := &wire.JobEventsResponse{Events: []*wire.JobEvent{
		{Seq: 1, AtUnixMs: 10_000, Kind: "submitted"},
		{Seq: 2, AtUnixMs: 10_100, Kind: "launched", TaskId: 1, Epoch: 1, Reason: "first"},
		{Seq: 3, AtUnixMs: 15_000, Kind: "launched", TaskId: 1, Epoch: 2, Reason: "yield"},
		{Seq: 4, AtUnixMs: 22_340, Kind: "leader_changed", Detail: "n1 → n2", Count: 3},
		{Seq: 5, AtUnixMs: 40_100, Kind: "launched", TaskId: 5, Epoch: 2, Reason: "timeout", Detail: "Task timed out after 3.00 seconds"},
	}}
	var submitted int64
	got := strings.Join(runNotes(3, r, &submitted), "\n")
	want := "kappa: j3 survived a leader change (n1 → n2) at 12.3s\nkappa: j3/t5 relaunched after its lambda timed out (epoch 2, at 30.1s)"
	if got != want {
		t.Fatalf("notes:\n%s\nwant:\n%s", got, want)
	}
	if d := ui.DescribeEvent(r.Events[4]); d != "t5 launched (epoch 2) after its lambda timed out: Task timed out after 3.00 seconds" {
		t.Fatalf("event line %q", d)
	}
	if d := ui.DescribeEvent(&wire.JobEvent{Kind: "job_cancelled", Detail: "cancelled: by ops"}); d != "job cancelled: by ops" {
		t.Fatalf("event line %q", d)
	}
}
