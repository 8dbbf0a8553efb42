package jepsen

import (
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/jepsen-style-tests/nemesis"
)

// cleanReport did every kind of work and every fault it asked for fired.
func cleanReport() *Report {
	return &Report{
		Schedule: []string{nemesis.KillLambdas, nemesis.KillLeader}, Ordered: true,
		Ops: map[string]int{"pipeline/succeeded": 3, "enqueue/ok": 30, "dequeue/ok": 60, "submit/ok": 40,
			"status/running": 80, "status/succeeded": 40, "cancel/ok": 9},
		Timeline: []nemesis.Event{
			{Kind: nemesis.KillLambdas, At: time.Second, Detail: "SIGKILL lambda workers inside an invocation; 9 killed, 8 invocations crashed"},
			{Kind: nemesis.KillLeader, At: 12 * time.Second, Detail: "SIGKILL n2"},
		},
		Linearizable: true,
	}
}

// wantProblem checks that r is not OK and names the problem.
func wantProblem(t *testing.T, r *Report, want string) {
	t.Helper()
	p := strings.Join(r.unproven(), "\n")
	if r.OK() || !strings.Contains(p, want) {
		t.Errorf("OK %t, problems:\n%s\nwant not OK with a problem containing %q", r.OK(), p, want)
	}
}

func TestReportOfWorkUnderFiredFaultsIsClean(t *testing.T) {
	r := cleanReport()
	// A fault the environment cannot inject is skipped, not a problem.
	r.Timeline = append(r.Timeline, nemesis.Event{Kind: nemesis.SlowNet, Skipped: "tc netem is unavailable"})
	if p := r.unproven(); !r.OK() || len(p) > 0 {
		t.Fatalf("a run that did its work under fired faults: OK %t, problems %q", r.OK(), p)
	}
}

func TestReportOfAWorkloadThatNeverStartedIsNotClean(t *testing.T) {
	r := cleanReport()
	r.Ops = map[string]int{}
	wantProblem(t, r, "no pipeline op with outcome succeeded")
	wantProblem(t, r, "no submit op with outcome ok")
	wantProblem(t, r, "no enqueue op")
}

func TestReportWithNoSucceededPipelineIsNotClean(t *testing.T) {
	r := cleanReport()
	delete(r.Ops, "pipeline/succeeded")
	r.Ops["pipeline/failed"] = 2
	wantProblem(t, r, "no pipeline op with outcome succeeded, so the checks prove nothing about that work (pipeline ops: pipeline/failed 2)")
}

func TestReportWithAFailedSubmitIsNotClean(t *testing.T) {
	r := cleanReport()
	r.Ops["submit/ambiguous"] = 1
	wantProblem(t, r, "1 submits failed (submit/ambiguous)")
	r = cleanReport()
	r.Ops["pipeline/submit-failed"] = 2
	wantProblem(t, r, "2 submits failed (pipeline/submit-failed)")
}

func TestReportWithAFaultThatHitNothingIsNotClean(t *testing.T) {
	r := cleanReport()
	r.Timeline[0].Missed = "no worker was inside an invocation to kill"
	wantProblem(t, r, "kill-lambdas at 1s hit nothing: no worker was inside an invocation to kill")
	if !strings.Contains(r.Text(), "HIT NOTHING: no worker was inside an invocation to kill") {
		t.Errorf("the text does not show the miss:\n%s", r.Text())
	}
}

func TestReportWhoseFaultsAllMissedOrWereSkippedIsNotClean(t *testing.T) {
	r := cleanReport()
	r.Timeline[0].Missed = "the killed workers crashed no invocation"
	r.Timeline[1].Skipped = "no leader"
	wantProblem(t, r, "no fault fired (of kill-lambdas, kill-leader)")
	r.Timeline = nil
	wantProblem(t, r, "no fault fired")
}

func TestReportOfAnOrderedRunThatNeverDrewAKindIsNotClean(t *testing.T) {
	r := cleanReport()
	r.Schedule = append(r.Schedule, nemesis.PartitionMajority)
	wantProblem(t, r, "partition-majority was never drawn")
	r.Ordered = false // a random draw need not come up with every kind
	if p := r.unproven(); len(p) > 0 {
		t.Fatalf("a random schedule: problems %q", p)
	}
}

func TestReportWithAForgottenJobOrAMissingCheckpointIsNotClean(t *testing.T) {
	r := cleanReport()
	r.ForgottenJobs = []uint64{7}
	if r.OK() {
		t.Error("a forgotten job: OK")
	}
	r = cleanReport()
	r.MissingCheckpoints = []string{"jobs/j4/t1/e2-s9.ckpt"}
	if r.OK() {
		t.Error("a missing checkpoint: OK")
	}
}

func TestCheckpointNotFoundFindsTheKey(t *testing.T) {
	rec := newRecorder()
	rec.missingKey("task t3 failed: Traceback …\nkappa.store.dirstore.KeyNotFoundError: jobs/j4/t1/e2-s9.ckpt\n")
	rec.missingKey("RuntimeError: KeyNotFoundError: 'jobs/j5/t2/e1-s3.ckpt' (relaunch)")
	rec.missingKey("deadlock: nothing can run; t1 waits for t12; t12 failed: KeyNotFoundError: jobs/j6/t12/e1-s4.ckpt; t13 waits")
	rec.missingKey("ValueError: no such thing")
	if got := strings.Join(rec.missingKeys(), " "); got != "jobs/j4/t1/e2-s9.ckpt jobs/j5/t2/e1-s3.ckpt jobs/j6/t12/e1-s4.ckpt" {
		t.Fatalf("keys %q", got)
	}
}
