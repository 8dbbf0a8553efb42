package fsm

import (
	"crypto/sha256"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

// The bytes of a log entry reach every replica; whatever they are, a
// replica decodes them or refuses them, and applying what decodes never
// panics, gives every replica the same state, and survives a snapshot.

// fuzzSetup is the state fuzzed entries are applied to, so most commands
// find something to act on: a cluster of one node, a running job whose
// root created a queue, spawned a child and enqueued an item, and a
// finished job.
func fuzzSetup() []*pb.Command {
	launch := func(job, task uint64, inv string) *pb.Command {
		return &pb.Command{Op: &pb.Command_Launch{Launch: &pb.Launch{JobId: job, TaskId: task, Epoch: 1, InvocationId: inv}}}
	}
	claim := func(job, task uint64, inv, nonce string) *pb.Command {
		return &pb.Command{Op: &pb.Command_Claim{Claim: &pb.Claim{JobId: job, TaskId: task, Epoch: 1, InvocationId: inv, Claim: nonce}}}
	}
	submit := func(req uint64) *pb.Command {
		return &pb.Command{ClientId: "client", RequestId: req, Op: &pb.Command_SubmitJob{SubmitJob: &pb.SubmitJob{ProgramHash: "p", EventJson: []byte("{}")}}}
	}
	return []*pb.Command{
		{Op: &pb.Command_InitCluster{InitCluster: &pb.InitCluster{ClusterId: "c", Key: []byte("k")}}},
		{Op: &pb.Command_SetNode{SetNode: &pb.SetNode{NodeId: "n1", RaftAddr: "r", ApiAddr: "a"}}},
		submit(1), launch(1, 1, "i1"), claim(1, 1, "i1", "c1"),
		callOp(1, 1, 1, "c1", &pb.TaskCall{Op: &pb.TaskCall_CreateQueues{CreateQueues: &pb.CreateQueues{MaxSize: 2, Count: 1}}}),
		callOp(1, 1, 2, "c1", &pb.TaskCall{Op: &pb.TaskCall_Spawn{Spawn: &pb.Spawn{Children: []*pb.Child{{Start: inline("s"), Name: "child"}}}}}),
		callOp(1, 1, 3, "c1", &pb.TaskCall{Op: &pb.TaskCall_Enqueue{Enqueue: &pb.Enqueue{QueueId: 1, Items: []*pb.Value{inline("x")}}}}),
		launch(1, 2, "i2"), claim(1, 2, "i2", "c2"),
		submit(2), launch(2, 1, "i3"), claim(2, 1, "i3", "c3"),
		callOp(2, 1, 1, "c3", &pb.TaskCall{Op: &pb.TaskCall_Exit{Exit: &pb.Exit{Result: inline("r"), ResultJson: "1"}}}),
	}
}

// callOp completes a call of task (job, task, epoch 1) under claim: its
// ref, its seq and the digest of its operation.
func callOp(job, task, seq uint64, claim string, c *pb.TaskCall) *pb.Command {
	c.Ref, c.Seq = &pb.TaskRef{JobId: job, TaskId: task, Epoch: 1, Claim: claim}, seq
	data, _ := proto.MarshalOptions{Deterministic: true}.Marshal(&pb.TaskCall{Op: c.Op})
	sum := sha256.Sum256(data)
	c.Digest = sum[:]
	return &pb.Command{NowUnixMs: 1000, Op: &pb.Command_Call{Call: c}}
}

func setupMachine(t testing.TB) *Machine {
	m := New()
	for i, c := range fuzzSetup() {
		c.NowUnixMs = 1000 + int64(i)
		for _, r := range m.Apply(uint64(i+1), &pb.Entry{Commands: []*pb.Command{c}}) {
			if r.GetError() != nil {
				t.Fatalf("setup command %d: %v", i, r.GetError())
			}
		}
	}
	return m
}

// fuzzSeeds are entries of every command kind against the setup state.
func fuzzSeeds() []*pb.Entry {
	one := func(c *pb.Command) *pb.Entry { return &pb.Entry{Commands: []*pb.Command{c}} }
	return []*pb.Entry{
		one(callOp(1, 1, 4, "c1", &pb.TaskCall{Op: &pb.TaskCall_Wait{Wait: &pb.Wait{Futures: []uint64{2}}}})),
		one(callOp(1, 2, 1, "c2", &pb.TaskCall{Op: &pb.TaskCall_Dequeue{Dequeue: &pb.Dequeue{QueueId: 1}}})),
		one(callOp(1, 2, 1, "c2", &pb.TaskCall{Op: &pb.TaskCall_Exit{Exit: &pb.Exit{Result: &pb.Value{Where: &pb.Value_Key{Key: "jobs/j1/t2/e1-s1-result0.val"}}}}})),
		one(callOp(1, 1, 4, "c1", &pb.TaskCall{Op: &pb.TaskCall_Exit{Exit: &pb.Exit{ResultJsonKey: "jobs/j1/t1/e1-s4-json0.val", ResultJsonBytes: 9}}})),
		one(callOp(1, 2, 1, "c2", &pb.TaskCall{Op: &pb.TaskCall_Fail{Fail: &pb.Fail{Error: "boom"}}})),
		one(callOp(1, 1, 4, "c1", &pb.TaskCall{Op: &pb.TaskCall_Yield{Yield: &pb.Yield{}}})),
		one(&pb.Command{Op: &pb.Command_Park{Park: &pb.Park{Ref: &pb.TaskRef{JobId: 1, TaskId: 1, Epoch: 1, Claim: "c1"}, Seq: 3}}}),
		one(&pb.Command{Op: &pb.Command_InvocationEnded{InvocationEnded: &pb.InvocationEnded{JobId: 1, TaskId: 2, Epoch: 1, InvocationId: "i2", Outcome: pb.Outcome_OUTCOME_CRASH}}}),
		one(&pb.Command{ClientId: "client", RequestId: 3, Op: &pb.Command_CancelJob{CancelJob: &pb.CancelJob{JobId: 1, Reason: "stop"}}}),
		one(&pb.Command{Op: &pb.Command_ForgetJob{ForgetJob: &pb.ForgetJob{JobId: 2}}}),
		one(&pb.Command{Op: &pb.Command_RemoveNode{RemoveNode: &pb.RemoveNode{NodeId: "n1"}}}),
		one(&pb.Command{Op: &pb.Command_SetClusterVersion{SetClusterVersion: &pb.SetClusterVersion{Version: 2}}}),
		{Version: 2, Commands: []*pb.Command{fuzzSetup()[2], fuzzSetup()[3]}},
	}
}

func FuzzApply(f *testing.F) {
	for _, e := range fuzzSeeds() {
		data, err := proto.Marshal(e)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var e pb.Entry
		if proto.Unmarshal(data, &e) != nil {
			return
		}
		const index = 100
		a, b := setupMachine(t), setupMachine(t)
		if err := a.CheckEntry(index, &e); err != nil {
			return // a version this build refuses, on every replica alike
		}
		results := a.Apply(index, &e)
		b.Apply(index, proto.Clone(&e).(*pb.Entry))
		if len(results) != len(e.GetCommands()) {
			t.Fatalf("%d results for %d commands", len(results), len(e.GetCommands()))
		}
		if a.StateHash() != b.StateHash() {
			t.Fatal("two replicas applying the same entry differ")
		}
		// What the node reads of the state works on any state.
		a.Runnable()
		a.Claimed()
		for _, j := range a.Jobs() {
			a.Refs(j.GetId())
			a.JobTasks(j.GetId())
		}
		snap, err := a.MarshalState()
		if err != nil {
			t.Fatal(err)
		}
		c := New()
		err = c.Restore(snap)
		var tooNew *VersionError
		if errors.As(err, &tooNew) && a.ClusterVersion() > CommandVersion {
			return // a cluster version beyond this build's: refused, as it must be
		}
		if err != nil || c.StateHash() != a.StateHash() {
			t.Fatalf("the snapshot does not restore to the same state: %v", err)
		}
	})
}

// FuzzRestore: a snapshot's bytes restore or are refused; never a panic,
// and what restores snapshots to itself.
func FuzzRestore(f *testing.F) {
	m := setupMachine(f)
	snap, err := m.MarshalState()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(snap)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		a := New()
		if a.Restore(data) != nil {
			return
		}
		again, err := a.MarshalState()
		if err != nil {
			t.Fatal(err)
		}
		b := New()
		if err := b.Restore(again); err != nil || b.StateHash() != a.StateHash() {
			t.Fatalf("a restored state does not snapshot to itself: %v", err)
		}
	})
}
