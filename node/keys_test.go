package node

import (
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/lambda"
	"github.com/kappa-serverless/kappa/node/nodetest"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// grantRecorder is a worker that claims, keeps its grant and exits.
type grantRecorder struct {
	mu     sync.Mutex
	grants map[uint64]*wire.ClaimResponse // by job
	stores []string
}

func (g *grantRecorder) invoker(t *testing.T) *scriptedInvoker {
	g.grants = map[uint64]*wire.ClaimResponse{}
	inv := &scriptedInvoker{t: t}
	inv.script = func(w *fakeWorker) lambda.Outcome {
		grant := w.claim()
		g.mu.Lock()
		g.grants[w.spec.Job] = grant
		g.stores = append(g.stores, w.spec.Store)
		g.mu.Unlock()
		w.mustCall(exitReq("1"))
		return lambda.OK
	}
	return inv
}

func (g *grantRecorder) grant(job uint64) *wire.ClaimResponse {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.grants[job]
}

// masterKeys reads the raw keys of a key file, as only a node holds them.
func masterKeys(t *testing.T, path string) map[string][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 2 && !strings.HasPrefix(f[0], "#") {
			out[f[0]], _ = base64.StdEncoding.DecodeString(f[1])
		}
	}
	return out
}

// A claiming task gets its own job's keys, derived per key id, and
// nothing else: no master key, no cluster-wide key, no other job's key.
func TestAGrantCarriesOnlyItsJobsKeys(t *testing.T) {
	rec := &grantRecorder{}
	dir := t.TempDir()
	n := testNode(t, rec.invoker(t), dir, func(c *Config) { c.WorkerStore = "redis://kappa-worker:w0rker@127.0.0.1:1/0" })
	defer n.Close()
	c := clientFor(t, n)
	j1 := submit(t, c, prog)
	j2 := submit(t, c, prog)
	awaitJob(t, c, j1, 20*time.Second)
	awaitJob(t, c, j2, 20*time.Second)
	st, _ := c.ClusterStatus(context.Background(), &wire.ClusterStatusRequest{})
	masters := masterKeys(t, filepath.Join(dir, "cluster.keys"))
	if st.GetKeyId() != "k1" || len(st.GetKeys()) != 1 || st.GetKeys()[0].GetFingerprint() != checkpoint.Fingerprint(masters["k1"]) {
		t.Fatalf("status keys: %q %v", st.GetKeyId(), st.GetKeys())
	}
	seen := map[string]bool{}
	for _, job := range []uint64{j1, j2} {
		g := rec.grant(job)
		want := checkpoint.DeriveJobKey(masters["k1"], st.GetClusterId(), job)
		if g.GetKeyId() != "k1" || len(g.GetJobKeys()) != 1 || g.GetJobKeys()[0].GetId() != "k1" || !bytes.Equal(g.GetJobKeys()[0].GetKey(), want) {
			t.Fatalf("job j%d's grant keys: %q %v", job, g.GetKeyId(), g.GetJobKeys())
		}
		if len(g.GetClusterKey()) != 0 {
			t.Fatal("a grant carries a cluster-wide key")
		}
		raw, _ := proto.Marshal(g)
		if bytes.Contains(raw, masters["k1"]) {
			t.Fatal("a grant carries the master key")
		}
		seen[string(want)] = true
		set, err := n.JobKeySet(job)
		if err != nil || !bytes.Equal(set["k1"], want) || len(set) != 1 {
			t.Fatalf("JobKeySet(j%d) = %v %v", job, set, err)
		}
	}
	if len(seen) != 2 {
		t.Fatal("two jobs got the same key")
	}
	for _, s := range rec.stores {
		if s != "redis://kappa-worker:w0rker@127.0.0.1:1/0" {
			t.Fatalf("a payload names store %q, not the workers' URL", s)
		}
	}
}

// A node whose key file disagrees with the cluster's key configuration
// is refused at start, with the reason.
func TestAKeyFileThatDisagreesWithTheClusterIsRefusedAtStart(t *testing.T) {
	dir := t.TempDir()
	n := testNode(t, &scriptedInvoker{t: t}, dir)
	n.Close()
	keys := filepath.Join(dir, "cluster.keys")
	start := func() error {
		store, _ := checkpoint.OpenDir(filepath.Join(dir, "store"))
		n, err := Start(Config{NodeID: "n1", DataDir: filepath.Join(dir, "node"), Invoker: &scriptedInvoker{t: t}, Store: store,
			Keys: nodetest.KeyFile(t, keys), RaftLog: testWriter{t}})
		if err == nil {
			n.Close()
		}
		return err
	}
	for _, c := range []struct{ id, want string }{
		{"k1", `holds another key for key id "k1" than the cluster`},
		{"k2", `lacks the cluster's current key id "k1" (it holds k2)`},
	} {
		ring, _ := checkpoint.NewKeyring(c.id)
		if err := checkpoint.WriteKeyring(keys, ring, true); err != nil {
			t.Fatal(err)
		}
		err := start()
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), keys) {
			t.Errorf("key file with a fresh %s: %v, want %q", c.id, err, c.want)
		}
	}
}

// An admin adding a waiting node (kappa cluster join, which knows neither
// the node's build nor its key file): the leader asks the node itself, and
// refuses one whose key file lacks the cluster's current key id.
func TestAnAdminAddingANodeChecksItsKeyFile(t *testing.T) {
	dir := t.TempDir()
	addr1, t1 := raft.NewInmemTransport("")
	leader := testNode(t, &scriptedInvoker{t: t}, filepath.Join(dir, "1"), func(c *Config) { c.Transport = t1 })
	defer leader.Close()
	admin := wire.NewAdminServiceClient(dial(t, leader))
	waiting := func(id string, keys *checkpoint.KeyFile) (*Node, raft.ServerAddress) {
		addr, tr := raft.NewInmemTransport("")
		t1.Connect(addr, tr)
		tr.Connect(addr1, t1)
		n, err := Start(Config{NodeID: id, DataDir: filepath.Join(dir, id), Transport: tr, Invoker: &scriptedInvoker{t: t},
			Store: leader.cfg.Store, Keys: keys, RaftLog: testWriter{t}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		return n, addr
	}
	stranger, addr := waiting("n2", nodetest.KeyFile(t, filepath.Join(dir, "other.keys")))
	_, err := admin.Join(context.Background(), &wire.JoinRequest{NodeId: "n2", RaftAddr: string(addr), ApiAddr: stranger.APIAddr()})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), `node "n2" cannot join: its cluster key file holds another key for key id "k1"`) {
		t.Fatalf("adding a node with another key file: %v", err)
	}
	member, addr := waiting("n3", leader.cfg.Keys)
	if _, err := admin.Join(context.Background(), &wire.JoinRequest{NodeId: "n3", RaftAddr: string(addr), ApiAddr: member.APIAddr()}); err != nil {
		t.Fatalf("adding a node with the cluster's key file: %v", err)
	}
	_, err = admin.Join(context.Background(), &wire.JoinRequest{NodeId: "n4", RaftAddr: "nowhere", ApiAddr: member.APIAddr()})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), `is "n3", not "n4"`) {
		t.Fatalf("adding a node at another node's address: %v", err)
	}
}

// A cluster of version-1 voters keeps the cluster-wide key in its state,
// as it always did; once every voter is upgraded, the leader moves it to
// the key files, and only the jobs from before keep the legacy key.
func TestAVersion1ClusterMovesToKeyFilesWhenUpgraded(t *testing.T) {
	rec := &grantRecorder{}
	inv := rec.invoker(t)
	dir := t.TempDir()
	n := testNode(t, inv, dir, func(c *Config) { c.MaxCommandVersion = 1 })
	c := clientFor(t, n)
	old := submit(t, c, prog)
	awaitJob(t, c, old, 20*time.Second)
	g := rec.grant(old)
	if g.GetKeyId() != "" || len(g.GetJobKeys()) != 0 || len(g.GetClusterKey()) != checkpoint.KeySize {
		t.Fatalf("a version-1 cluster's grant: kid %q, %d job keys, cluster key of %d bytes", g.GetKeyId(), len(g.GetJobKeys()), len(g.GetClusterKey()))
	}
	legacy := g.GetClusterKey()
	n.Close()

	n = testNode(t, inv, dir)
	defer n.Close()
	c = clientFor(t, n)
	nodetest.Eventually(t, 15*time.Second, "the keys moving to the key files", func() bool {
		st, _ := c.ClusterStatus(context.Background(), &wire.ClusterStatusRequest{})
		return st.GetKeyId() == "k1"
	})
	fresh := submit(t, c, prog)
	awaitJob(t, c, fresh, 20*time.Second)
	if g := rec.grant(fresh); g.GetKeyId() != "k1" || len(g.GetClusterKey()) != 0 || len(g.GetJobKeys()) != 1 {
		t.Fatalf("a new job's grant after the upgrade: %v", g)
	}
	set, err := n.JobKeySet(old)
	if err != nil || !bytes.Equal(set[checkpoint.LegacyKeyID], legacy) || set["k1"] == nil {
		t.Fatalf("the old job's keys: %v %v", set, err)
	}
	if set, _ := n.JobKeySet(fresh); set[checkpoint.LegacyKeyID] != nil {
		t.Fatal("a job newer than the key files got the legacy key")
	}
}

// Rotation on one node: a key id the key file lacks is refused naming
// the node; one it holds becomes current, and grants carry both ids.
func TestRotateKeyNeedsTheKeyInTheFile(t *testing.T) {
	rec := &grantRecorder{}
	dir := t.TempDir()
	n := testNode(t, rec.invoker(t), dir)
	defer n.Close()
	admin := wire.NewAdminServiceClient(dial(t, n))
	ctx := context.Background()
	_, err := admin.RotateKey(ctx, &wire.RotateKeyRequest{ToId: "k2"})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), `node n1's cluster key file lacks key id "k2"`) {
		t.Fatalf("rotating to a missing key: %v", err)
	}
	if _, err := admin.RotateKey(ctx, &wire.RotateKeyRequest{ToId: "../x"}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("a bad key id: %v", err)
	}
	path := filepath.Join(dir, "cluster.keys")
	ring, _ := checkpoint.LoadKeyring(path)
	ring.Generate("k2")
	if err := checkpoint.WriteKeyring(path, ring, true); err != nil {
		t.Fatal(err)
	}
	r, err := admin.RotateKey(ctx, &wire.RotateKeyRequest{ToId: "k2"})
	if err != nil || r.GetPreviousId() != "k1" || r.GetCurrentId() != "k2" || strings.Join(r.GetChecked(), ",") != "n1" {
		t.Fatalf("rotate: %v %v", r, err)
	}
	c := clientFor(t, n)
	job := submit(t, c, prog)
	awaitJob(t, c, job, 20*time.Second)
	g := rec.grant(job)
	if g.GetKeyId() != "k2" || len(g.GetJobKeys()) != 2 {
		t.Fatalf("after the rotation: kid %q, keys %v", g.GetKeyId(), g.GetJobKeys())
	}
}

// lockedBuffer collects log output written from many goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// The data dir is the node's alone: an old one (0755, 0644) is tightened
// at start, and snapshots are written private.
func TestTheDataDirIsPrivate(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "node")
	os.MkdirAll(filepath.Join(data, "raft"), 0o755)
	os.Chmod(data, 0o755)
	os.WriteFile(filepath.Join(data, "cluster-id"), []byte(""), 0o644)
	logs := &lockedBuffer{}
	n := testNode(t, &scriptedInvoker{t: t}, dir, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(logs, nil)) })
	defer n.Close()
	if !strings.Contains(logs.String(), "tightened data dir permissions") {
		t.Errorf("tightening was not logged:\n%s", logs.String())
	}
	if err := n.Raft().Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	var checked int
	filepath.WalkDir(data, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, _ := d.Info()
		want := os.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s has mode %04o, want %04o", p, info.Mode().Perm(), want)
		}
		checked++
		return nil
	})
	if checked < 6 {
		t.Fatalf("only %d paths under the data dir", checked)
	}
}
