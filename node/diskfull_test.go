package node

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/kappa-serverless/kappa/lambda"
	"github.com/kappa-serverless/kappa/node/nodetest"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

type lockedLog struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// A node whose data dir fills up steps down once and then sits out (no
// election after election), says so in its log, its status and its
// metrics, and comes back when space does.
func TestDiskFullSingleNodeSitsOutAndRecovers(t *testing.T) {
	disk := t.TempDir()
	nodetest.MountSmallDisk(t, disk, "8m")
	inv := &scriptedInvoker{t: t, script: func(w *fakeWorker) lambda.Outcome {
		w.claim()
		w.mustCall(checkpointReq())
		w.mustCall(exitReq("5"))
		return lambda.OK
	}}
	logs := &lockedLog{}
	dataDir := filepath.Join(disk, "node")
	n := testNode(t, inv, t.TempDir(), func(c *Config) {
		c.DataDir = dataDir
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	defer n.Close()
	c := clientFor(t, n)
	if st := awaitJob(t, c, submit(t, c, okProgram), 20*time.Second); st.GetState() != wire.JobState_JOB_SUCCEEDED {
		t.Fatalf("before: %v", st)
	}
	filler := nodetest.FillDisk(t, disk)
	// bbolt reuses the pages it freed, so the first writes may fit; large
	// events soon need new ones.
	bundle, event := nodetest.BundleOf(t, okProgram), []byte(`"`+strings.Repeat("e", 200<<10)+`"`)
	for i := 1; ; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_, err := c.SubmitJob(ctx, &wire.SubmitJobRequest{ClientId: "full", RequestId: uint64(i), ProgramBundle: bundle, EventJson: event})
		cancel()
		if err != nil {
			break
		}
		if i == 50 {
			t.Fatal("50 submits of 200 KiB committed on a full disk")
		}
	}
	nodetest.Eventually(t, 10*time.Second, "the node reports its disk full", func() bool {
		st, err := c.ClusterStatus(context.Background(), &wire.ClusterStatusRequest{})
		return err == nil && st.GetDiskFull() && strings.Contains(st.GetDiskMessage(), "disk full on "+dataDir)
	})
	// It sits out: no leadership won and lost over and over.
	term := n.Raft().CurrentTerm()
	for range 30 {
		if s := n.Raft().State(); s == raft.Leader {
			t.Fatal("the node leads again on a full disk")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if now := n.Raft().CurrentTerm(); now > term+1 {
		t.Fatalf("terms %d → %d in 3 s: the node keeps campaigning", term, now)
	}
	rec := httptest.NewRecorder()
	n.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(rec.Body.String(), "\nkappa_disk_full 1\n") {
		t.Fatalf("metrics:\n%s", grepLines(rec.Body.String(), "kappa_disk"))
	}
	if got := strings.Count(logs.String(), `msg="disk full on `+dataDir+`: Raft writes fail`); got != 1 {
		t.Fatalf("%d first-failure lines, want 1:\n%s", got, logs)
	}
	// Space comes back: the node leads and commits again.
	os.Remove(filler)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := n.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	if st := awaitJob(t, c, submit(t, c, okProgram), 20*time.Second); st.GetState() != wire.JobState_JOB_SUCCEEDED {
		t.Fatalf("after: %v", st)
	}
	if st, _ := c.ClusterStatus(context.Background(), &wire.ClusterStatusRequest{}); st.GetDiskFull() {
		t.Fatalf("still full: %v", st.GetDiskMessage())
	}
	if !strings.Contains(logs.String(), "disk space on "+dataDir+" is back") {
		t.Fatalf("no recovery line:\n%s", logs)
	}
	// Every job submitted while the disk filled finishes (and its worker
	// is done before the node closes).
	jobs, err := c.ListJobs(context.Background(), &wire.ListJobsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs.GetJobs() {
		if st := awaitJob(t, c, j.GetJobId(), 20*time.Second); st.GetState() != wire.JobState_JOB_SUCCEEDED {
			t.Fatalf("job %v", st)
		}
	}
}

func grepLines(text, what string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, what) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// isDiskFull knows ENOSPC and EDQUOT through the wrapping stores add.
func TestDiskFullErrors(t *testing.T) {
	wrapped := &os.PathError{Op: "write", Path: "raft.db", Err: syscall.ENOSPC}
	if !isDiskFull(wrapped) || !isDiskFull(syscall.EDQUOT) || isDiskFull(errors.New("no space")) || isDiskFull(nil) {
		t.Fatal("isDiskFull")
	}
}
