package node

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kappa-serverless/kappa/fsm"
	"github.com/kappa-serverless/kappa/lambda"
	"github.com/kappa-serverless/kappa/node/nodetest"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

const overQuota = `
from kappa import QuotaExceeded, create_queue, spawn, wait

def one(i):
    return i

def handler(event, context):
    futures = [spawn(one, (i,)) for i in range(1, 3)]
    out = []
    try:
        spawn(one, (9,))
        out.append("spawned past the quota")
    except QuotaExceeded as e:
        out.append(str(e))
    q = create_queue(10)
    q.enqueue(10, 20)
    try:
        q.enqueue(30)
        out.append("enqueued past the quota")
    except QuotaExceeded as e:
        out.append(str(e))
    out.append(sum(wait(*futures)) + q.dequeue() + q.dequeue())
    return out
`

const overQuotaUnhandled = `
from kappa import spawn_many, wait

def one():
    return 1

def handler(event, context):
    return sum(wait(*spawn_many(one, (), copies=5)))
`

// A spawn or an enqueue beyond a job's quota raises QuotaExceeded in the
// program, naming the quota and how to raise it; the program handles it
// and finishes with everything it did within the quota. Unhandled, it
// fails the job with the same message, and nothing else is harmed.
func TestAProgramSeesQuotaRefusalsAndGoesOn(t *testing.T) {
	n := testNode(t, localPlatform(t, 30*time.Second), t.TempDir(), func(c *Config) {
		c.Quotas = Quotas{MaxTasksPerJob: 3, MaxQueueItemsPerJob: 2}
	})
	defer n.Close()
	waitVersion2(t, n)
	c := clientFor(t, n)
	st := awaitJob(t, c, submit(t, c, overQuota), time.Minute)
	if st.GetState() != wire.JobState_JOB_SUCCEEDED {
		t.Fatalf("job: %v", st)
	}
	var out []any
	if err := json.Unmarshal([]byte(st.GetResultJson()), &out); err != nil || len(out) != 3 {
		t.Fatalf("result %s: %v", st.GetResultJson(), err)
	}
	for i, want := range []string{
		"quota exceeded: job j1 has 3 tasks and may have 3; spawning 1 more is refused (the cluster's max-tasks-per-job quota; an operator raises it with `kappa server --max-tasks-per-job N` on every node)",
		"quota exceeded: the queues of job j1 hold 2 items and may hold 2; enqueueing 1 more is refused (the cluster's max-queue-items-per-job quota; an operator raises it with `kappa server --max-queue-items-per-job N` on every node)",
	} {
		if out[i] != want {
			t.Errorf("refusal %d:\n got %v\nwant %s", i, out[i], want)
		}
	}
	if out[2] != float64(33) {
		t.Errorf("the work within the quota added up to %v, want 33", out[2])
	}
	st = awaitJob(t, c, submit(t, c, overQuotaUnhandled), time.Minute)
	if st.GetState() != wire.JobState_JOB_FAILED || !strings.Contains(st.GetError(), "QuotaExceeded: quota exceeded: job j2 has 1 tasks and may have 3; spawning 5 more is refused") {
		t.Fatalf("an unhandled refusal should fail the job with its message: %v", st)
	}
	assertAuditClean(t, c, 1)
	assertAuditClean(t, c, 2)
}

// The cluster's live-job quota refuses a submit with RESOURCE_EXHAUSTED
// and a message naming it, which the client does not retry; once a job
// finishes, the next submit gets in.
func TestSubmitBeyondTheLiveJobQuotaIsRefusedClearly(t *testing.T) {
	n := testNode(t, idleInvoker(t), t.TempDir(), func(c *Config) {
		c.Quotas.MaxLiveJobs = 2
	})
	defer n.Close()
	waitVersion2(t, n)
	c := clientFor(t, n)
	first := submit(t, c, oneTask)
	submit(t, c, oneTask)
	_, err := c.SubmitJob(context.Background(), &wire.SubmitJobRequest{ClientId: "test", RequestId: 99, ProgramBundle: nodetest.BundleOf(t, oneTask)})
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "the cluster runs 2 jobs, its limit") ||
		!strings.Contains(err.Error(), "kappa server --max-live-jobs N") {
		t.Fatalf("a submit beyond the quota: %v", err)
	}
	var jobs int
	n.replica.read(func(m *fsm.Machine) { jobs, _ = m.Size() })
	if jobs != 2 {
		t.Fatalf("%d jobs after a refused submit", jobs)
	}
	if _, err := c.CancelJob(context.Background(), &wire.CancelJobRequest{ClientId: "test", RequestId: 100, JobId: first}); err != nil {
		t.Fatal(err)
	}
	// The same request, retried: it was refused, not remembered, so it is
	// judged again, and now there is room.
	if _, err := c.SubmitJob(context.Background(), &wire.SubmitJobRequest{ClientId: "test", RequestId: 99, ProgramBundle: nodetest.BundleOf(t, oneTask)}); err != nil {
		t.Fatalf("a submit once a job finished: %v", err)
	}
}

// Two thousand clients cancelling a job that does not exist leave the
// snapshot as it was: refusals are not remembered in the session table.
func TestTwoThousandStrangersLeaveTheSnapshotBounded(t *testing.T) {
	n := testNode(t, &scriptedInvoker{t: t}, t.TempDir())
	defer n.Close()
	waitVersion2(t, n)
	c := clientFor(t, n)
	before := snapshotBytes(t, n)
	for i := 0; i < 2000; i++ {
		_, err := c.CancelJob(context.Background(), &wire.CancelJobRequest{ClientId: fmt.Sprintf("stranger-%d", i), RequestId: 1, JobId: 424242})
		if status.Code(err) != codes.NotFound {
			t.Fatalf("cancel of a missing job: %v", err)
		}
	}
	after := snapshotBytes(t, n)
	var sessions int
	n.replica.read(func(m *fsm.Machine) { sessions = m.Sessions() })
	t.Logf("snapshot %d bytes before, %d after 2,000 refused cancels; %d sessions", before, after, sessions)
	if sessions != 0 || after > before+256 {
		t.Fatalf("the refused cancels grew the state: %d sessions, snapshot %d → %d bytes", sessions, before, after)
	}
}

// idleInvoker's lambdas claim their task and then run until the test ends:
// the jobs stay live.
func idleInvoker(t *testing.T) *scriptedInvoker {
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	return &scriptedInvoker{t: t, script: func(w *fakeWorker) lambda.Outcome {
		// Its claim may meet the node closing at the end of a test (the
		// test is over then): an idle worker only holds its slot.
		_, _ = w.c.Claim(context.Background(), &wire.ClaimRequest{JobId: w.spec.Job, TaskId: w.spec.Task, Epoch: w.spec.Epoch,
			InvocationId: w.spec.Invocation, Claim: "idle"})
		<-done
		return lambda.Crash
	}}
}

// snapshotBytes takes a Raft snapshot and returns its size.
func snapshotBytes(t *testing.T, n *Node) int64 {
	t.Helper()
	f := n.raft.Snapshot()
	if err := f.Error(); err != nil {
		t.Fatal(err)
	}
	meta, rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.Copy(io.Discard, rc); err != nil {
		t.Fatal(err)
	}
	return meta.Size
}

// A node that applies command version 1 only (an old build in a rolling
// upgrade) keeps the cluster at version 1, and then nothing of this
// changes behaviour: no quota is stamped, a priority is refused by the
// version gate, refusals stay in the session table.
func TestQuotasAndPrioritiesWaitForEveryVoterToKnowThem(t *testing.T) {
	n := testNode(t, idleInvoker(t), t.TempDir(), func(c *Config) {
		c.MaxCommandVersion = 1
		c.Quotas.MaxLiveJobs = 1
	})
	defer n.Close()
	c := clientFor(t, n)
	time.Sleep(100 * time.Millisecond) // the version watch has looked once
	submit(t, c, oneTask)
	submit(t, c, oneTask) // no quota below version 2
	_, err := c.SubmitJob(context.Background(), &wire.SubmitJobRequest{ClientId: "test", RequestId: 7, ProgramBundle: nodetest.BundleOf(t, oneTask), Priority: 3})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "needs command version 2") {
		t.Fatalf("a priority on a version-1 cluster: %v", err)
	}
	if _, err := c.CancelJob(context.Background(), &wire.CancelJobRequest{ClientId: "stranger", RequestId: 1, JobId: 999}); status.Code(err) != codes.NotFound {
		t.Fatal(err)
	}
	var sessions int
	var v uint32
	n.replica.read(func(m *fsm.Machine) { sessions, v = m.Sessions(), m.ClusterVersion() })
	if v != 1 || sessions != 2 {
		t.Fatalf("cluster version %d, %d sessions; version 1 remembers the refusal too (want 2)", v, sessions)
	}
}

// A submitter's live jobs are bounded by max-live-jobs-per-submitter: its
// next submit is refused naming it, the quota and the flag, while another
// submitter still gets in; once one of its jobs finished it gets in again.
func TestASubmitterBeyondItsLiveJobQuotaIsRefused(t *testing.T) {
	dir := t.TempDir()
	file, tokens, _ := tokenFile(t, dir, "alice:submitter", "bob:submitter", "ops:operator")
	inv := newHeldInvoker()
	defer close(inv.release)
	n := testNode(t, inv, dir, func(c *Config) { c.TokenFile = file; c.Quotas.MaxLiveJobsPerSubmitter = 1 })
	defer n.Close()
	waitVersion2(t, n)
	as := tokenClients(t, n.APIAddr(), tokens)
	ctx := context.Background()
	mine := submitAs(t, as["alice"], "alice")
	_, err := as["alice"].SubmitJob(ctx, &wire.SubmitJobRequest{ClientId: "alice", RequestId: 1, ProgramBundle: nodetest.BundleOf(t, prog), EventJson: []byte("{}")})
	wantCode(t, "alice's second job", err, codes.ResourceExhausted, "alice runs 1 jobs, its limit", "kappa server --max-live-jobs-per-submitter N")
	submitAs(t, as["bob"], "bob")
	if _, err := as["ops"].CancelJob(ctx, &wire.CancelJobRequest{ClientId: "ops", RequestId: 1, JobId: mine}); err != nil {
		t.Fatal(err)
	}
	submitAs(t, as["alice"], "alice")
}
