package node

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/kappa-serverless/kappa/fsm"
	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// A committed entry newer than this build knows stops the node with a
// clear error instead of being applied wrongly (which would diverge).
func TestANodeHaltsOnAnEntryNewerThanItKnows(t *testing.T) {
	n := testNode(t, &scriptedInvoker{t: t}, t.TempDir())
	defer n.Close()
	var before uint64
	n.replica.read(func(m *fsm.Machine) { before = m.AppliedIndex() })
	newer, err := proto.Marshal(&pb.Entry{Version: fsm.CommandVersion + 1, Commands: []*pb.Command{
		{Op: &pb.Command_InitCluster{InitCluster: &pb.InitCluster{ClusterId: "other"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	f := n.raft.Apply(newer, 5*time.Second)
	if err := f.Error(); err != nil {
		t.Fatalf("raft did not commit the entry: %v", err)
	}
	resp, _ := f.Response().(error)
	var ve *fsm.VersionError
	if !errors.As(resp, &ve) {
		t.Fatalf("apply answered %v, want a VersionError", f.Response())
	}
	select {
	case err := <-n.Fatal():
		if !strings.Contains(err.Error(), "upgrade this node") {
			t.Errorf("fatal error %q does not say what to do", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the node did not report a fatal error")
	}
	var after uint64
	var cluster string
	n.replica.read(func(m *fsm.Machine) { after, cluster = m.AppliedIndex(), m.ClusterID() })
	if after != before || cluster == "other" {
		t.Fatalf("the refused entry was applied: index %d → %d, cluster %q", before, after, cluster)
	}
}

// ClusterStatus reports the node's build, and the cluster's command
// version starts at 1.
func TestClusterStatusReportsVersions(t *testing.T) {
	n := testNode(t, &scriptedInvoker{t: t}, t.TempDir(), func(c *Config) { c.MaxCommandVersion = 1 })
	defer n.Close()
	st, err := clientFor(t, n).ClusterStatus(context.Background(), &wire.ClusterStatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	v := st.GetVersion()
	if v.GetVersion() != Release || v.GetCommandVersion() != 1 || v.GetSnapshotVersion() != fsm.SnapshotVersion || v.GetWireVersion() != WireVersion {
		t.Fatalf("version info %v", v)
	}
	if st.GetClusterCommandVersion() != 1 {
		t.Fatalf("cluster command version %d, want 1", st.GetClusterCommandVersion())
	}
}
