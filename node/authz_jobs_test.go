package node

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/kappa-serverless/kappa/fsm"
	"github.com/kappa-serverless/kappa/lambda"
	"github.com/kappa-serverless/kappa/node/nodetest"
	"github.com/kappa-serverless/kappa/transport/kappaclient"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
	"github.com/kappa-serverless/kappa/transport/tlsconf"
)

// tokenClients starts a node that admits one token per name (name:role)
// and returns a client service connection for each name.
func tokenClients(t *testing.T, addr string, tokens map[string]string) map[string]wire.ClientServiceClient {
	out := map[string]wire.ClientServiceClient{}
	for name, tok := range tokens {
		out[name] = wire.NewClientServiceClient(dialWith(t, addr, kappaclient.Token(tok)))
	}
	return out
}

func submitAs(t *testing.T, c wire.ClientServiceClient, name string) uint64 {
	t.Helper()
	res, err := c.SubmitJob(context.Background(), &wire.SubmitJobRequest{ClientId: name, RequestId: uint64(time.Now().UnixNano()),
		ProgramBundle: nodetest.BundleOf(t, prog), EventJson: []byte("{}"), Name: name + "'s job"})
	if err != nil {
		t.Fatalf("%s submitting: %v", name, err)
	}
	return res.GetJobId()
}

func TestSubmittersReachOnlyTheirOwnJobs(t *testing.T) {
	dir := t.TempDir()
	file, tokens, _ := tokenFile(t, dir, "alice:submitter", "bob:submitter", "ops:operator", "watcher:reader")
	inv := newHeldInvoker()
	defer close(inv.release)
	n := testNode(t, inv, dir, func(c *Config) { c.TokenFile = file })
	defer n.Close()
	as := tokenClients(t, n.APIAddr(), tokens)
	ctx := context.Background()

	mine, theirs := submitAs(t, as["alice"], "alice"), submitAs(t, as["bob"], "bob")
	if st, err := as["alice"].GetJob(ctx, &wire.GetJobRequest{JobId: mine}); err != nil || st.GetOwner() != "alice" {
		t.Fatalf("alice reading her job: %v %v", st, err)
	}
	notHers := func(what string, err error) {
		t.Helper()
		wantCode(t, what, err, codes.PermissionDenied, `submitter "alice" (token)`, "only for jobs it submitted; j2 is not one of them")
	}
	_, err := as["alice"].GetJob(ctx, &wire.GetJobRequest{JobId: theirs})
	notHers("GetJob of bob's job", err)
	_, err = as["alice"].GetJob(ctx, &wire.GetJobRequest{JobId: theirs, Stale: true})
	notHers("a stale GetJob of bob's job", err)
	_, err = as["alice"].AuditJob(ctx, &wire.AuditJobRequest{JobId: theirs})
	notHers("AuditJob of bob's job", err)
	_, err = as["alice"].InvocationLogs(ctx, &wire.InvocationLogsRequest{JobId: theirs})
	notHers("InvocationLogs of bob's job", err)
	_, err = as["alice"].CancelJob(ctx, &wire.CancelJobRequest{ClientId: "alice", RequestId: 1, JobId: theirs})
	notHers("CancelJob of bob's job", err)
	stream, err := as["alice"].WatchJob(ctx, &wire.WatchJobRequest{JobId: theirs})
	if err == nil {
		_, err = stream.Recv()
	}
	notHers("WatchJob of bob's job", err)
	events, err := as["alice"].JobEvents(ctx, &wire.JobEventsRequest{JobId: theirs})
	if err == nil {
		_, err = events.Recv()
	}
	notHers("JobEvents of bob's job", err)
	result, err := as["alice"].JobResult(ctx, &wire.JobResultRequest{JobId: theirs})
	if err == nil {
		_, err = result.Recv()
	}
	notHers("JobResult of bob's job", err)
	_, err = as["alice"].RetryJob(ctx, &wire.RetryJobRequest{ClientId: "alice", RequestId: 9, JobId: mine})
	wantCode(t, "a submitter retrying", err, codes.PermissionDenied, `submitter "alice" (token) may not call /kappa.v1.ClientService/RetryJob`)
	_, err = as["alice"].GetJob(ctx, &wire.GetJobRequest{JobId: 99})
	wantCode(t, "an unknown job", err, codes.NotFound, "job j99 does not exist")

	// Claiming to be someone else in metadata changes nothing: only a
	// peer's certificate may say whom it forwards for.
	spoof := metadata.AppendToOutgoingContext(ctx, onBehalfOfKey, "token:admin:root")
	_, err = as["alice"].CancelJob(spoof, &wire.CancelJobRequest{ClientId: "alice", RequestId: 2, JobId: theirs})
	notHers("CancelJob of bob's job claiming to be an admin", err)

	list, err := as["alice"].ListJobs(ctx, &wire.ListJobsRequest{})
	if err != nil || len(list.GetJobs()) != 1 || list.GetJobs()[0].GetJobId() != mine {
		t.Fatalf("alice's list must hold her job alone: %v %v", list, err)
	}
	all, err := as["watcher"].ListJobs(ctx, &wire.ListJobsRequest{})
	if err != nil || len(all.GetJobs()) != 2 {
		t.Fatalf("a reader lists every job: %v %v", all, err)
	}
	_, err = as["watcher"].CancelJob(ctx, &wire.CancelJobRequest{ClientId: "w", RequestId: 1, JobId: theirs})
	wantCode(t, "a reader cancelling", err, codes.PermissionDenied, `reader "watcher" (token) may not call /kappa.v1.ClientService/CancelJob`)
	_, err = as["watcher"].InvocationLogs(ctx, &wire.InvocationLogsRequest{JobId: theirs})
	wantCode(t, "a reader reading program output", err, codes.PermissionDenied, "may not call /kappa.v1.ClientService/InvocationLogs")

	if _, err := as["ops"].CancelJob(ctx, &wire.CancelJobRequest{ClientId: "ops", RequestId: 1, JobId: theirs, Reason: "drill"}); err != nil {
		t.Fatalf("an operator cancels any job: %v", err)
	}
	if _, err := as["alice"].CancelJob(ctx, &wire.CancelJobRequest{ClientId: "alice", RequestId: 3, JobId: mine}); err != nil {
		t.Fatalf("alice cancelling her own job: %v", err)
	}
	if st := awaitJob(t, as["bob"], theirs, 5*time.Second); st.GetState() != wire.JobState_JOB_FAILED || !strings.Contains(st.GetError(), "drill") {
		t.Fatalf("bob watching his cancelled job: %v", st)
	}
}

func TestATaskActsOnlyForItsOwnLaunch(t *testing.T) {
	inv := newHeldInvoker()
	defer close(inv.release)
	n := testNode(t, inv, t.TempDir())
	defer n.Close()
	c := clientFor(t, n)
	ctx := context.Background()
	submit(t, c, prog)
	a := inv.next(t)
	submit(t, c, prog)
	b := inv.next(t)
	asA := wire.NewTaskServiceClient(dialWith(t, n.APIAddr(), withTaskSecret(a.TaskSecret)))
	asB := wire.NewTaskServiceClient(dialWith(t, n.APIAddr(), withTaskSecret(b.TaskSecret)))

	// A claims B's task with its own (valid) secret: refused.
	_, err := asA.Claim(ctx, &wire.ClaimRequest{JobId: b.Job, TaskId: b.Task, Epoch: b.Epoch, InvocationId: b.Invocation, Claim: "a-for-b"})
	wantCode(t, "a task claiming another job's task", err, codes.PermissionDenied, "task credential does not match job 2 task 1 epoch 1")
	if _, err := asB.Claim(ctx, &wire.ClaimRequest{JobId: b.Job, TaskId: b.Task, Epoch: b.Epoch, InvocationId: b.Invocation, Claim: "b"}); err != nil {
		t.Fatalf("B's own claim: %v", err)
	}
	bRef := &wire.TaskRef{JobId: b.Job, TaskId: b.Task, Epoch: b.Epoch, Claim: "b"}
	_, err = asA.Call(ctx, &wire.CallRequest{Ref: bRef, Seq: 1, Op: &wire.CallRequest_Exit{Exit: &wire.ExitOp{ResultJson: `"forged"`}}})
	wantCode(t, "a task calling for another's claim", err, codes.PermissionDenied, "task credential does not match job 2 task 1 epoch 1")
	_, err = asA.Heartbeat(ctx, &wire.HeartbeatRequest{Ref: bRef})
	wantCode(t, "a task heartbeating for another", err, codes.PermissionDenied, "task credential does not match")

	// The old hijack: a second claim of B's launch learns it was
	// superseded; nothing in the message lets anyone claim or call.
	var trailer metadata.MD
	_, err = asB.Claim(ctx, &wire.ClaimRequest{JobId: b.Job, TaskId: b.Task, Epoch: b.Epoch, InvocationId: b.Invocation, Claim: "second"}, grpc.Trailer(&trailer))
	wantCode(t, "a second claim", err, codes.FailedPrecondition, "superseded", "claimed by another invocation")
	for _, secret := range []string{b.Invocation, b.TaskSecret, a.TaskSecret, "\"b\""} {
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("the superseded message %q reveals %q", err, secret)
		}
	}
	// Even knowing the invocation id, without B's secret nothing works.
	thief := wire.NewTaskServiceClient(dial(t, n))
	_, err = thief.Claim(ctx, &wire.ClaimRequest{JobId: b.Job, TaskId: b.Task, Epoch: b.Epoch, InvocationId: b.Invocation, Claim: "b"})
	wantCode(t, "the hijacker's claim", err, codes.PermissionDenied, "task credential does not match")
	_, err = thief.Call(ctx, &wire.CallRequest{Ref: bRef, Seq: 1, Op: &wire.CallRequest_Exit{Exit: &wire.ExitOp{ResultJson: `"forged"`}}})
	wantCode(t, "the hijacker's forged exit", err, codes.PermissionDenied, "task credential does not match")
	if st, _ := c.GetJob(ctx, &wire.GetJobRequest{JobId: b.Job}); st.GetState() != wire.JobState_JOB_RUNNING {
		t.Fatalf("the victim's job changed: %v", st)
	}
}

func TestTaskCredentialsAndOwnersWaitForEveryVoterAtVersion2(t *testing.T) {
	dir := t.TempDir()
	file, tokens, _ := tokenFile(t, dir, "alice:submitter", "root:admin")
	alice, root := tokens["alice"], tokens["root"]
	inv := newHeldInvoker()
	defer close(inv.release)
	n := testNode(t, inv, dir, func(c *Config) { c.MaxCommandVersion = 1; c.TokenFile = file })
	defer n.Close()
	ctx := context.Background()
	_, err := wire.NewClientServiceClient(dialWith(t, n.APIAddr(), kappaclient.Token(alice))).SubmitJob(ctx, &wire.SubmitJobRequest{
		ClientId: "alice", RequestId: 1, ProgramBundle: nodetest.BundleOf(t, prog)})
	wantCode(t, "a submitter on a version-1 cluster", err, codes.FailedPrecondition, "needs command version 2 and the cluster runs 1")
	asRoot := wire.NewClientServiceClient(dialWith(t, n.APIAddr(), kappaclient.Token(root)))
	job := submit(t, asRoot, prog)
	if st, _ := asRoot.GetJob(ctx, &wire.GetJobRequest{JobId: job}); st.GetOwner() != "" {
		t.Fatalf("a version-1 cluster recorded an owner: %v", st)
	}
	spec := inv.next(t)
	if spec.TaskSecret != "" {
		t.Fatal("a version-1 leader sent a task secret it could not commit")
	}
	// Without credentials the claim rule fences the invocation, as before.
	_, err = wire.NewTaskServiceClient(dial(t, n)).Claim(ctx, &wire.ClaimRequest{JobId: job, TaskId: 1, Epoch: 1, InvocationId: spec.Invocation, Claim: "c"})
	if err != nil {
		t.Fatalf("a version-1 launch's own claim: %v", err)
	}

	// The node is upgraded: the cluster turns credentials on, and the
	// invocation launched without one is told to stop.
	n.Close()
	n = testNode(t, inv, dir, func(c *Config) { c.TokenFile = file })
	defer n.Close()
	if v := n.clusterVersion(); v != fsm.CommandVersion {
		t.Fatalf("the upgraded sole voter runs version %d, want this build's %d", v, fsm.CommandVersion)
	}
	_, err = wire.NewTaskServiceClient(dial(t, n)).Heartbeat(ctx, &wire.HeartbeatRequest{Ref: &wire.TaskRef{JobId: job, TaskId: 1, Epoch: 1, Claim: "c"}})
	wantCode(t, "a pre-upgrade invocation's heartbeat", err, codes.FailedPrecondition, "epoch 1 of j1/t1 was launched without a task credential; it is relaunched with one")
}

// twoNodes starts a leader and a follower that joins it (or, given an
// admin connection to the leader, that the admin adds), with in-memory
// Raft between them and the API configured by tweak.
func twoNodes(t *testing.T, inv *heldInvoker, join func(leader *Node) wire.AdminServiceClient, tweak func(id string) func(*Config)) (leader, follower *Node) {
	t.Helper()
	addr1, t1 := raft.NewInmemTransport("")
	addr2, t2 := raft.NewInmemTransport("")
	t1.Connect(addr2, t2)
	t2.Connect(addr1, t1)
	dir := t.TempDir()
	leader = testNode(t, inv, filepath.Join(dir, "1"), func(c *Config) { c.Transport = t1 }, tweak("n1"))
	var admin wire.AdminServiceClient
	if join != nil {
		admin = join(leader)
	}
	cfg := Config{NodeID: "n2", DataDir: filepath.Join(dir, "2", "node"), Join: leader.APIAddr(), Transport: t2,
		Invoker: inv, Store: leader.cfg.Store, Keys: leader.cfg.Keys, RaftLog: io.Discard, JoinTimeout: 15 * time.Second}
	tweak("n2")(&cfg)
	if admin != nil {
		cfg.Join = "" // --wait-join: an admin adds it
	}
	follower, err := Start(cfg)
	if err != nil {
		leader.Close()
		t.Fatal(err)
	}
	if admin != nil {
		_, err = admin.Join(context.Background(), &wire.JoinRequest{NodeId: "n2", RaftAddr: string(addr2), ApiAddr: follower.APIAddr(), CommandVersion: fsm.CommandVersion})
		if err != nil {
			follower.Close()
			leader.Close()
			t.Fatalf("the admin adding n2: %v", err)
		}
	}
	t.Cleanup(func() { follower.Close(); leader.Close() })
	nodetest.Eventually(t, 10*time.Second, "the follower knowing the leader's API", func() bool {
		_, err := follower.leaderAPI()
		return err == nil
	})
	return leader, follower
}

func TestForwardedCallsKeepTheirPrincipal(t *testing.T) {
	ca := newTestCA(t)
	file, tokens, _ := tokenFile(t, t.TempDir(), "alice:submitter", "bob:submitter")
	alice, bob := tokens["alice"], tokens["bob"]
	inv := newHeldInvoker()
	defer close(inv.release)
	leader, follower := twoNodes(t, inv, nil, func(id string) func(*Config) {
		withCerts := ca.nodeTLS(t, id)
		return func(c *Config) { withCerts(c); c.TokenFile = file }
	})
	ctx := context.Background()
	viaFollower := func(opts ...grpc.DialOption) *grpc.ClientConn {
		return dialWith(t, follower.APIAddr(), append([]grpc.DialOption{ca.anonymous(t)}, opts...)...)
	}
	asAlice := wire.NewClientServiceClient(viaFollower(kappaclient.Token(alice)))
	job := submitAs(t, asAlice, "alice")
	bobsJob := submitAs(t, wire.NewClientServiceClient(viaFollower(kappaclient.Token(bob))), "bob")
	admin := ca.as(t, "root", tlsconf.RoleAdmin)
	asAdmin := wire.NewClientServiceClient(dialWith(t, leader.APIAddr(), admin))
	if st, err := asAdmin.GetJob(ctx, &wire.GetJobRequest{JobId: job}); err != nil || st.GetOwner() != "alice" {
		t.Fatalf("the leader must record the submitter the follower authenticated: %v %v", st, err)
	}
	_, err := asAlice.GetJob(ctx, &wire.GetJobRequest{JobId: bobsJob})
	wantCode(t, "alice reading bob's job through the follower", err, codes.PermissionDenied, "j2 is not one of them")

	// A task calls through the follower: its secret travels on and the
	// leader checks it.
	spec := inv.next(t)
	for spec.Job != job {
		spec = inv.next(t)
	}
	claim := &wire.ClaimRequest{JobId: spec.Job, TaskId: spec.Task, Epoch: spec.Epoch, InvocationId: spec.Invocation, Claim: "via-follower"}
	_, err = wire.NewTaskServiceClient(viaFollower(withTaskSecret(strings.Repeat("0", 64)))).Claim(ctx, claim)
	wantCode(t, "a wrong secret through the follower", err, codes.PermissionDenied, "task credential does not match")
	if _, err := wire.NewTaskServiceClient(viaFollower(withTaskSecret(spec.TaskSecret))).Claim(ctx, claim); err != nil {
		t.Fatalf("the task's claim through the follower: %v", err)
	}

	// Only a node certificate may speak for someone else.
	reader := ca.as(t, "watcher", tlsconf.RoleReader)
	spoof := metadata.AppendToOutgoingContext(ctx, onBehalfOfKey, "certificate:admin:root", forwardedKey, "n2")
	_, err = wire.NewAdminServiceClient(dialWith(t, leader.APIAddr(), reader)).Remove(spoof, &wire.RemoveRequest{NodeId: "n2"})
	wantCode(t, "a reader claiming to forward for an admin", err, codes.PermissionDenied, `reader "watcher" (certificate) may not call /kappa.v1.AdminService/Remove`)
}

func TestForwardingWithoutTLSCarriesTheTokenItself(t *testing.T) {
	file, tokens, _ := tokenFile(t, t.TempDir(), "alice:submitter", "root:admin")
	alice, root := tokens["alice"], tokens["root"]
	inv := newHeldInvoker()
	defer close(inv.release)
	asRoot := func(l *Node) wire.AdminServiceClient {
		return wire.NewAdminServiceClient(dialWith(t, l.APIAddr(), kappaclient.Token(root)))
	}
	leader, follower := twoNodes(t, inv, asRoot, func(string) func(*Config) { return func(c *Config) { c.TokenFile = file } })
	ctx := context.Background()
	job := submitAs(t, wire.NewClientServiceClient(dialWith(t, follower.APIAddr(), kappaclient.Token(alice))), "alice")
	if st, err := wire.NewClientServiceClient(dialWith(t, leader.APIAddr(), kappaclient.Token(alice))).GetJob(ctx, &wire.GetJobRequest{JobId: job}); err != nil || st.GetOwner() != "alice" {
		t.Fatalf("the owner recorded through a plaintext follower: %v %v", st, err)
	}
	// Without certificates nothing can vouch for a forwarded principal.
	spoof := metadata.AppendToOutgoingContext(ctx, onBehalfOfKey, "token:admin:root", forwardedKey, "n2")
	_, err := wire.NewAdminServiceClient(dial(t, leader)).Remove(spoof, &wire.RemoveRequest{NodeId: "n2"})
	wantCode(t, "a plaintext call claiming to be forwarded for an admin", err, codes.Unauthenticated, "requires a client certificate, a token or a task credential")
}

func TestJoiningWithoutTLSOnATokenClusterSaysHow(t *testing.T) {
	dir := t.TempDir()
	file, _, _ := tokenFile(t, dir, "root:admin")
	n := testNode(t, newHeldInvoker(), filepath.Join(dir, "1"), func(c *Config) { c.TokenFile = file })
	defer n.Close()
	_, err := Start(Config{NodeID: "n2", DataDir: filepath.Join(dir, "2"), Join: n.APIAddr(), Invoker: newHeldInvoker(), Store: n.cfg.Store,
		Keys: n.cfg.Keys, RaftLog: io.Discard, TokenFile: file})
	if err == nil || !strings.Contains(err.Error(), "start this node with --wait-join and add it with `kappa cluster join n2") {
		t.Fatalf("joining a token cluster without TLS: %v", err)
	}
	// Its status stays readable to nodes that have no certificate.
	if _, err := clientFor(t, n).ClusterStatus(context.Background(), &wire.ClusterStatusRequest{}); err != nil {
		t.Fatalf("status without TLS: %v", err)
	}
}

func TestOnCoordinatorTasksGetTaskSecretsToo(t *testing.T) {
	lambdas := &scriptedInvoker{t: t, script: func(w *fakeWorker) lambda.Outcome {
		w.claim()
		spawned := w.mustCall(&wire.CallRequest{Op: &wire.CallRequest_Spawn{Spawn: &wire.SpawnOp{Children: []*wire.ChildSpec{
			{Start: &wire.Value{Where: &wire.Value_Inline{Inline: []byte("c")}}, OnCoordinator: true}}}}})
		if w.mustCall(&wire.CallRequest{Op: &wire.CallRequest_Wait{Wait: &wire.WaitOp{Futures: spawned.GetSpawned().GetTaskIds()}}}).GetBlocked() != nil {
			w.pollUntilReady()
		}
		w.mustCall(exitReq("1"))
		return lambda.OK
	}}
	var secrets []string
	coordinator := &scriptedInvoker{t: t, script: func(w *fakeWorker) lambda.Outcome {
		secrets = append(secrets, w.spec.TaskSecret)
		if w.claim() != nil {
			w.mustCall(exitReq("2"))
		}
		return lambda.OK
	}}
	n := testNode(t, lambdas, t.TempDir(), func(c *Config) { c.CoordinatorInvoker = coordinator })
	defer n.Close()
	c := clientFor(t, n)
	if st := awaitJob(t, c, submit(t, c, prog), 20*time.Second); st.GetState() != wire.JobState_JOB_SUCCEEDED {
		t.Fatalf("job %v", st)
	}
	if len(secrets) != 1 || len(secrets[0]) != 2*taskSecretBytes {
		t.Fatalf("the on-coordinator task's payloads carried secrets %q", secrets)
	}
}
