package bench

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/node/nodetest"
	"github.com/kappa-serverless/kappa/node/proccluster"
)

// SIGTERM of the leader, 20 times, while simulated tasks commit a call
// every 5 ms: each time the stopping leader hands leadership to another
// node before its process exits (its log names the successor, which is
// the leader afterwards), exits with status 0, and no call acknowledged to
// a task is missing from the FSM. A follower's SIGTERM stops it cleanly.
// The longest stretch without a committed call is logged, not asserted
// (docs/benchmarks.md has the measured numbers).
func TestSIGTERMOnTheLeaderHandsLeadershipOver(t *testing.T) {
	var out strings.Builder
	checked := false
	trials, err := Restart(RestartOptions{Binary: nodetest.KappaBinary(t), Trials: 20, Tasks: 4, CallInterval: 5 * time.Millisecond,
		ShutdownTimeout: 10 * time.Second, Out: io.MultiWriter(&out, testLog{t}),
		After: func(c *proccluster.Cluster, job uint64, acked map[uint64]int) error {
			checked = true
			return checkAfterRestarts(t, c, job, acked)
		}})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !checked {
		t.Fatal("the checks after the trials did not run")
	}
	for i, tr := range trials {
		if tr.ExitErr != nil {
			t.Errorf("trial %d: %s exited with %v, want status 0", i+1, tr.Stopped, tr.ExitErr)
		}
		if tr.HandedTo == "" || tr.HandedTo == tr.Stopped || tr.HandedTo != tr.Leader {
			t.Errorf("trial %d: %s's log says it handed leadership to %q before exiting; the leader after it is %q", i+1, tr.Stopped, tr.HandedTo, tr.Leader)
		}
	}
}

// checkAfterRestarts: every acknowledged call is in the FSM, the audit is
// clean, and a follower's SIGTERM stops it cleanly without a hand-over.
func checkAfterRestarts(t *testing.T, c *proccluster.Cluster, job uint64, acked map[uint64]int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	audit, err := c.Client().Audit(ctx, job)
	if err != nil {
		return err
	}
	if problems := nodetest.CheckAudit(audit); len(problems) > 0 {
		return fmt.Errorf("audit: %s", strings.Join(problems, "; "))
	}
	seq := map[uint64]uint64{}
	for _, ta := range audit.GetTasks() {
		seq[ta.GetTaskId()] = ta.GetSeq()
	}
	total := 0
	for task, n := range acked {
		total += n
		if seq[task] < uint64(n) {
			return fmt.Errorf("task %d: %d calls acknowledged, but the FSM has seq %d: acknowledged writes were lost", task, n, seq[task])
		}
	}
	t.Logf("%d acknowledged calls, all in the FSM", total)
	leader, err := c.WaitLeader(30 * time.Second)
	if err != nil {
		return err
	}
	for _, n := range c.Nodes {
		if n == leader {
			continue
		}
		before := len(c.Log(n))
		if err := c.Terminate(n, time.Minute); err != nil {
			return fmt.Errorf("follower %s on SIGTERM: %w", n.ID, err)
		}
		if log := c.Log(n)[before:]; strings.Contains(log, "handed leadership") || !strings.Contains(log, "stopped") {
			return fmt.Errorf("follower %s's log on SIGTERM:\n%s", n.ID, log)
		}
		if l := c.Leader(); l != leader {
			return fmt.Errorf("stopping follower %s moved leadership from %s", n.ID, leader.ID)
		}
		return nil
	}
	return fmt.Errorf("no follower to stop")
}

// testLog writes the benchmark's lines to the test log.
type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
