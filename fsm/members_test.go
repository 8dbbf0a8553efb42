package fsm

import (
	"strings"
	"testing"

	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
)

func TestMemberTableSurvivesSnapshot(t *testing.T) {
	l := newLog(t)
	l.ok(&pb.Command{Op: &pb.Command_SetNode{SetNode: &pb.SetNode{NodeId: "b", RaftAddr: "127.0.0.2:7000", ApiAddr: "127.0.0.2:8000"}}})
	l.ok(&pb.Command{Op: &pb.Command_SetNode{SetNode: &pb.SetNode{NodeId: "a", RaftAddr: "127.0.0.1:7000", ApiAddr: "127.0.0.1:8000"}}})
	l.ok(&pb.Command{Op: &pb.Command_SetNode{SetNode: &pb.SetNode{NodeId: "c", RaftAddr: "r", ApiAddr: "x"}}})
	l.ok(&pb.Command{Op: &pb.Command_RemoveNode{RemoveNode: &pb.RemoveNode{NodeId: "c"}}})
	l.refused(&pb.Command{Op: &pb.Command_SetNode{SetNode: &pb.SetNode{NodeId: "d"}}}, pb.ErrorCode_INVALID)
	l.ok(&pb.Command{Op: &pb.Command_InitCluster{InitCluster: &pb.InitCluster{ClusterId: "k1"}}})
	l.ok(&pb.Command{Op: &pb.Command_InitCluster{InitCluster: &pb.InitCluster{ClusterId: "k1"}}})
	l.refused(&pb.Command{Op: &pb.Command_InitCluster{InitCluster: &pb.InitCluster{ClusterId: "k2"}}}, pb.ErrorCode_INVALID)
	data, _ := l.m.MarshalState()
	r := New()
	if err := r.Restore(data); err != nil {
		t.Fatal(err)
	}
	nodes := r.Nodes()
	if len(nodes) != 2 || nodes[0].GetId() != "a" || r.ClusterID() != "k1" || nodes[1].GetApiAddr() != "127.0.0.2:8000" || r.StateHash() != l.m.StateHash() {
		t.Fatalf("nodes after restore: %v", nodes)
	}
}

func TestCancelStopsEveryTaskAndFailsWaiters(t *testing.T) {
	l := newLog(t)
	job := l.submit()
	root, _ := l.start(job, RootTask, 1)
	root.call(&pb.Spawn{Children: []*pb.Child{{Start: inline("c")}}})
	child, _ := l.start(job, 2, 1)
	root.call(&pb.Wait{Futures: []uint64{2}})
	l.ok(&pb.Command{ClientId: "ops", RequestId: 1, Op: &pb.Command_CancelJob{CancelJob: &pb.CancelJob{JobId: job, Reason: "drill"}}})
	j := l.m.Job(job)
	if j.GetState() != pb.JobState_JOB_FAILED || j.GetError() != "cancelled: drill" {
		t.Fatalf("job %v", j)
	}
	if msg := l.refused(child.callCmd(1, "k", &pb.Checkpoint{}), pb.ErrorCode_JOB_FINISHED); !strings.Contains(msg, "already finished") {
		t.Fatal(msg)
	}
	for _, task := range l.m.JobTasks(job) {
		if task.GetState() != pb.TaskState_TASK_FAILED || !strings.Contains(task.GetError(), "cancelled: drill") {
			t.Fatalf("task %d: %v %q", task.GetId(), task.GetState(), task.GetError())
		}
	}
	if len(l.m.Runnable()) != 0 {
		t.Fatal("a cancelled job has runnable tasks")
	}
	l.refused(&pb.Command{ClientId: "ops", RequestId: 2, Op: &pb.Command_CancelJob{CancelJob: &pb.CancelJob{JobId: job}}}, pb.ErrorCode_JOB_FINISHED)
}

// A drained member stays drained when it re-registers and across a
// snapshot, and the drain is a version-2 command.
func TestDrainIsReplicatedAndSurvivesReregistration(t *testing.T) {
	l := newLog(t)
	l.ok(&pb.Command{Op: &pb.Command_SetNode{SetNode: &pb.SetNode{NodeId: "a", RaftAddr: "r1", ApiAddr: "x1"}}})
	drain := &pb.Command{Op: &pb.Command_SetDrain{SetDrain: &pb.SetDrain{NodeId: "a", Drained: true}}}
	if v := RequiredVersion(drain); v != 2 {
		t.Fatalf("SetDrain needs command version %d, want 2", v)
	}
	if msg := l.refused(&pb.Command{Op: &pb.Command_SetDrain{SetDrain: &pb.SetDrain{NodeId: "zz", Drained: true}}}, pb.ErrorCode_NOT_FOUND); !strings.Contains(msg, `"zz"`) {
		t.Fatalf("refusal %q does not name the node", msg)
	}
	before := l.m.StateHash()
	l.ok(drain)
	if !l.m.Node("a").GetDrained() || l.m.StateHash() == before {
		t.Fatal("the drain did not change the replicated state")
	}
	l.ok(&pb.Command{Op: &pb.Command_SetNode{SetNode: &pb.SetNode{NodeId: "a", RaftAddr: "r2", ApiAddr: "x2"}}})
	if n := l.m.Node("a"); !n.GetDrained() || n.GetRaftAddr() != "r2" {
		t.Fatalf("after re-registering: %v, want drained with the new address", n)
	}
	data, _ := l.m.MarshalState()
	r := New()
	if err := r.Restore(data); err != nil {
		t.Fatal(err)
	}
	if !r.Node("a").GetDrained() || r.StateHash() != l.m.StateHash() {
		t.Fatal("the drain did not survive a snapshot")
	}
	l.ok(&pb.Command{Op: &pb.Command_SetDrain{SetDrain: &pb.SetDrain{NodeId: "a"}}})
	if l.m.Node("a").GetDrained() {
		t.Fatal("undrain left the node drained")
	}
}
