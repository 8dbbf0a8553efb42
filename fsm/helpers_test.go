package fsm

import (
	"crypto/sha256"
	"fmt"
	"testing"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
	"google.golang.org/protobuf/proto"
)

// log is a test harness: it applies commands one entry at a time and keeps
// every entry, so a test can replay the log into another machine.
type log struct {
	t       testing.TB
	m       *Machine
	entries []*pb.Entry
	now     int64
	// clock: stamp the cluster clock (= now) as a version-2 leader does;
	// quotas: stamp these limits on every command that has none.
	clock  bool
	quotas *pb.Quotas
}

func newLog(t testing.TB) *log { return &log{t: t, m: New(), now: 1_000} }

func (l *log) apply(c *pb.Command) *pb.Result {
	l.now += 10
	c.NowUnixMs = l.now
	if l.clock {
		c.ClockMs = l.now
	}
	if l.quotas != nil && c.Quotas == nil {
		c.Quotas = l.quotas
	}
	e := &pb.Entry{Commands: []*pb.Command{c}}
	// Entries travel as bytes through Raft: do the same here.
	data, err := proto.Marshal(e)
	if err != nil {
		l.t.Fatal(err)
	}
	var decoded pb.Entry
	if err := proto.Unmarshal(data, &decoded); err != nil {
		l.t.Fatal(err)
	}
	l.entries = append(l.entries, &decoded)
	return l.m.Apply(uint64(len(l.entries)), &decoded)[0]
}

func (l *log) ok(c *pb.Command) *pb.Result {
	l.t.Helper()
	r := l.apply(c)
	if r.GetError() != nil {
		l.t.Fatalf("unexpected error: %v", r.GetError())
	}
	return r
}

func (l *log) refused(c *pb.Command, code pb.ErrorCode) string {
	l.t.Helper()
	r := l.apply(c)
	if r.GetError().GetCode() != code {
		l.t.Fatalf("want error %v, got %v", code, r)
	}
	return r.GetError().GetMessage()
}

// version2 moves the cluster to command version 2, and stamps the clock
// on every command from then on.
func (l *log) version2() {
	l.t.Helper()
	l.ok(&pb.Command{Op: &pb.Command_SetClusterVersion{SetClusterVersion: &pb.SetClusterVersion{Version: 2}}})
	l.clock = true
}

func (l *log) submit() uint64 {
	l.t.Helper()
	return l.ok(&pb.Command{Op: &pb.Command_SubmitJob{SubmitJob: &pb.SubmitJob{ProgramHash: "abc", EventJson: []byte(`{"n":3}`)}}}).GetJobId()
}

// worker is one claimed invocation of a task, as a test drives it.
type worker struct {
	l   *log
	ref *pb.TaskRef
	seq uint64
}

func (l *log) launch(job, task, epoch uint64) string {
	l.t.Helper()
	inv := fmt.Sprintf("inv-%d-%d-%d", job, task, epoch)
	l.ok(&pb.Command{Op: &pb.Command_Launch{Launch: &pb.Launch{JobId: job, TaskId: task, Epoch: epoch, InvocationId: inv}}})
	return inv
}

// start launches and claims a task for the given epoch.
func (l *log) start(job, task, epoch uint64) (*worker, *pb.ClaimGrant) {
	l.t.Helper()
	inv := l.launch(job, task, epoch)
	nonce := "claim-" + inv
	g := l.ok(claimCmd(job, task, epoch, inv, nonce)).GetClaim()
	return &worker{l: l, ref: &pb.TaskRef{JobId: job, TaskId: task, Epoch: epoch, Claim: nonce}, seq: g.GetSeq()}, g
}

func claimCmd(job, task, epoch uint64, inv, nonce string) *pb.Command {
	return &pb.Command{Op: &pb.Command_Claim{Claim: &pb.Claim{JobId: job, TaskId: task, Epoch: epoch, InvocationId: inv, Claim: nonce}}}
}

// callCmd builds the next call of the worker with a digest of its op.
func (w *worker) callCmd(seq uint64, key string, op any) *pb.Command {
	c := &pb.TaskCall{Ref: w.ref, Seq: seq, CheckpointKey: key}
	switch o := op.(type) {
	case *pb.Spawn:
		c.Op = &pb.TaskCall_Spawn{Spawn: o}
	case *pb.Wait:
		c.Op = &pb.TaskCall_Wait{Wait: o}
	case *pb.Checkpoint:
		c.Op = &pb.TaskCall_Checkpoint{Checkpoint: o}
	case *pb.Yield:
		c.Op = &pb.TaskCall_Yield{Yield: o}
	case *pb.Exit:
		c.Op = &pb.TaskCall_Exit{Exit: o}
	case *pb.Fail:
		c.Op = &pb.TaskCall_Fail{Fail: o}
	case *pb.CreateQueues:
		c.Op = &pb.TaskCall_CreateQueues{CreateQueues: o}
	case *pb.Enqueue:
		c.Op = &pb.TaskCall_Enqueue{Enqueue: o}
	case *pb.Dequeue:
		c.Op = &pb.TaskCall_Dequeue{Dequeue: o}
	}
	data, _ := deterministic.Marshal(c)
	sum := sha256.Sum256(data)
	c.Digest = sum[:]
	return &pb.Command{Op: &pb.Command_Call{Call: c}}
}

func (w *worker) key() string {
	return fmt.Sprintf("j%d/t%d/e%d-s%d", w.ref.GetJobId(), w.ref.GetTaskId(), w.ref.GetEpoch(), w.seq+1)
}

// call sends the next call and expects it to apply.
func (w *worker) call(op any) *pb.Response {
	w.l.t.Helper()
	key := w.key()
	if _, isExit := op.(*pb.Exit); isExit {
		key = ""
	}
	r := w.l.ok(w.callCmd(w.seq+1, key, op))
	w.seq++
	return r.GetResponse()
}

func (w *worker) exit(v string) {
	w.l.t.Helper()
	w.call(&pb.Exit{Result: inline(v), ResultJson: v})
}

func inline(s string) *pb.Value { return &pb.Value{Where: &pb.Value_Inline{Inline: []byte(s)}} }

func ended(job, task, epoch uint64, outcome pb.Outcome) *pb.Command {
	return &pb.Command{Op: &pb.Command_InvocationEnded{InvocationEnded: &pb.InvocationEnded{
		JobId: job, TaskId: task, Epoch: epoch, InvocationId: fmt.Sprintf("inv-%d-%d-%d", job, task, epoch), Outcome: outcome, Message: "test"}}}
}

func (l *log) task(job, task uint64) *pb.Task { return l.m.Task(TaskKey{job, task}) }

// viaSnapshot is a new machine restored from m's snapshot.
func viaSnapshot(t testing.TB, m *Machine) *Machine {
	t.Helper()
	snap, err := m.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	r := New()
	if err := r.Restore(snap); err != nil {
		t.Fatal(err)
	}
	return r
}

// rootUnder submits a job under the given quotas (stamped on every command
// from now on) and starts its root.
func (l *log) rootUnder(q *pb.Quotas) (uint64, *worker) {
	l.t.Helper()
	l.version2()
	l.quotas = q
	job := l.submit()
	w, _ := l.start(job, RootTask, 1)
	return job, w
}
