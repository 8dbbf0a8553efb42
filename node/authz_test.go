package node

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/lambda"
	"github.com/kappa-serverless/kappa/node/nodetest"
	"github.com/kappa-serverless/kappa/transport/kappaclient"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
	"github.com/kappa-serverless/kappa/transport/tlsconf"
)

func TestEveryServedMethodIsInTheAuthorizationTable(t *testing.T) {
	n := testNode(t, exitingInvoker(t), t.TempDir())
	defer n.Close()
	served := map[string]bool{}
	for svc, info := range n.grpc.GetServiceInfo() {
		for _, m := range info.Methods {
			name := "/" + svc + "/" + m.Name
			served[name] = true
			if _, ok := authzTable[name]; !ok {
				t.Errorf("%s is served but has no row in authzTable (node/authz.go): deny by default refuses it", name)
			}
		}
	}
	if len(served) < 10 {
		t.Fatalf("found only %d methods: %v", len(served), served)
	}
	for name := range authzTable {
		if !served[name] {
			t.Errorf("authzTable has a row for %s, which no service serves", name)
		}
	}
	_, _, err := n.authz.admit(context.Background(), "/kappa.v1.ClientService/DropEverything")
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "not in the authorization table") {
		t.Fatalf("a method without a row: %v", err)
	}
}

// exitingInvoker runs every task as a worker that claims and exits with 7.
func exitingInvoker(t *testing.T) *scriptedInvoker {
	return &scriptedInvoker{t: t, script: func(w *fakeWorker) lambda.Outcome {
		if w.claim() != nil {
			w.mustCall(exitReq("7"))
		}
		return lambda.OK
	}}
}

// heldInvoker hands each invocation's spec to the test and holds the
// "lambda" until the test releases it: the task stays launched.
type heldInvoker struct {
	specs   chan InvocationSpec
	release chan struct{}
}

func newHeldInvoker() *heldInvoker {
	return &heldInvoker{specs: make(chan InvocationSpec, 16), release: make(chan struct{})}
}

func (h *heldInvoker) Invoke(ctx context.Context, inv lambda.Invocation) (lambda.Result, error) {
	var ev InvocationEvent
	if err := json.Unmarshal(inv.Payload, &ev); err != nil {
		return lambda.Result{}, err
	}
	h.specs <- ev.Kappa
	select {
	case <-h.release:
	case <-ctx.Done():
	}
	return lambda.Result{Outcome: lambda.Crash, Message: "released by the test"}, nil
}

func (h *heldInvoker) next(t *testing.T) InvocationSpec {
	t.Helper()
	select {
	case s := <-h.specs:
		return s
	case <-time.After(15 * time.Second):
		t.Fatal("no invocation within 15s")
	}
	return InvocationSpec{}
}

// dialWith connects to a node's API with extra dial options (credentials).
func dialWith(t *testing.T, addr string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// wantCode fails unless err has the code and its message says every want.
func wantCode(t *testing.T, what string, err error, code codes.Code, want ...string) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("%s: got %v, want %s", what, err, code)
	}
	for _, w := range want {
		if !strings.Contains(status.Convert(err).Message(), w) {
			t.Fatalf("%s: %q does not say %q", what, status.Convert(err).Message(), w)
		}
	}
}

func writeTokens(t *testing.T, file string, lines ...string) {
	t.Helper()
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// tokenFile writes dir/tokens admitting one fresh token per "name:role"
// and returns the file, each name's token and each name's line.
func tokenFile(t *testing.T, dir string, who ...string) (file string, tokens, lines map[string]string) {
	t.Helper()
	tokens, lines = map[string]string{}, map[string]string{}
	var all []string
	for _, w := range who {
		name, role, _ := strings.Cut(w, ":")
		tok, line, err := NewToken(name, Role(role))
		if err != nil {
			t.Fatal(err)
		}
		tokens[name], lines[name], all = tok, line, append(all, line)
	}
	file = filepath.Join(dir, "tokens")
	writeTokens(t, file, all...)
	return file, tokens, lines
}

func TestOpenClusterTakesClientsForAdminsButTasksStillNeedTheirSecret(t *testing.T) {
	inv := newHeldInvoker()
	defer close(inv.release)
	n := testNode(t, inv, t.TempDir())
	defer n.Close()
	c := clientFor(t, n)
	job := submit(t, c, prog)
	spec := inv.next(t)
	if spec.TaskSecret == "" || len(spec.TaskSecret) != 2*taskSecretBytes {
		t.Fatalf("the launch's payload carries no task secret: %+v", spec)
	}
	if _, err := c.ListJobs(context.Background(), &wire.ListJobsRequest{}); err != nil {
		t.Fatalf("an open cluster refused a client: %v", err)
	}
	tc := wire.NewTaskServiceClient(dial(t, n))
	claim := &wire.ClaimRequest{JobId: job, TaskId: 1, Epoch: spec.Epoch, InvocationId: spec.Invocation, Claim: "thief"}
	_, err := tc.Claim(context.Background(), claim)
	wantCode(t, "a claim without the secret", err, codes.PermissionDenied, "task credential does not match job 1 task 1 epoch 1")
	_, err = wire.NewTaskServiceClient(dialWith(t, n.APIAddr(), withTaskSecret(strings.Repeat("ab", 32)))).Claim(context.Background(), claim)
	wantCode(t, "a claim with a wrong secret", err, codes.PermissionDenied, "task credential does not match")
	if strings.Contains(err.Error(), spec.TaskSecret) || strings.Contains(err.Error(), spec.Invocation) {
		t.Fatalf("the refusal leaks a credential: %v", err)
	}
	own := wire.NewTaskServiceClient(dialWith(t, n.APIAddr(), withTaskSecret(spec.TaskSecret)))
	if _, err := own.Claim(context.Background(), &wire.ClaimRequest{JobId: job, TaskId: 1, Epoch: spec.Epoch, InvocationId: spec.Invocation, Claim: "mine"}); err != nil {
		t.Fatalf("the invocation's own claim: %v", err)
	}
}

func TestTokensNameTheRoleAndTheFileIsReloaded(t *testing.T) {
	dir := t.TempDir()
	file, tokens, lines := tokenFile(t, dir, "root:admin", "watcher:reader")
	admin, reader := tokens["root"], tokens["watcher"]
	n := testNode(t, exitingInvoker(t), dir, func(c *Config) { c.TokenFile = file })
	defer n.Close()
	ctx := context.Background()

	_, err := clientFor(t, n).ListJobs(ctx, &wire.ListJobsRequest{})
	wantCode(t, "no credentials", err, codes.Unauthenticated, "/kappa.v1.ClientService/ListJobs", "requires a client certificate, a token or a task credential")
	var counted dto.Metric
	if err := n.metrics.refused.WithLabelValues(wire.ClientService_ListJobs_FullMethodName, "Unauthenticated").Write(&counted); err != nil || counted.GetCounter().GetValue() != 1 {
		t.Fatalf("kappa_api_refused_total counted %v refusals (%v), want 1", counted.GetCounter().GetValue(), err)
	}
	forged := "kappa_forged-token-that-no-file-holds"
	_, err = wire.NewClientServiceClient(dialWith(t, n.APIAddr(), kappaclient.Token(forged))).ListJobs(ctx, &wire.ListJobsRequest{})
	wantCode(t, "an unknown token", err, codes.Unauthenticated, "not one node n1 admits")
	if strings.Contains(err.Error(), forged) {
		t.Fatalf("the refusal repeats the token: %v", err)
	}

	asReader := wire.NewClientServiceClient(dialWith(t, n.APIAddr(), kappaclient.Token(reader)))
	if _, err := asReader.ListJobs(ctx, &wire.ListJobsRequest{}); err != nil {
		t.Fatalf("reader listing jobs: %v", err)
	}
	_, err = asReader.SubmitJob(ctx, &wire.SubmitJobRequest{ClientId: "r", RequestId: 1, ProgramBundle: nodetest.BundleOf(t, prog)})
	wantCode(t, "reader submitting", err, codes.PermissionDenied, `reader "watcher" (token) may not call /kappa.v1.ClientService/SubmitJob`, "allowed: admin, submitter")
	_, err = wire.NewAdminServiceClient(dialWith(t, n.APIAddr(), kappaclient.Token(reader))).Join(ctx, &wire.JoinRequest{NodeId: "evil", RaftAddr: "10.9.9.9:1", ApiAddr: "10.9.9.9:2"})
	wantCode(t, "reader joining a node", err, codes.PermissionDenied, "may not call /kappa.v1.AdminService/Join")
	_, err = wire.NewAdminServiceClient(dialWith(t, n.APIAddr(), kappaclient.Token(admin))).Remove(ctx, &wire.RemoveRequest{NodeId: "ghost"})
	wantCode(t, "admin removing an unknown member (authorized, then refused by the handler)", err, codes.NotFound, `node "ghost" is not a member`)

	// A new line takes effect without a restart; a broken file keeps the
	// tokens of the last good one.
	sub, subLine, err := NewToken("alice", RoleSubmitter)
	if err != nil {
		t.Fatal(err)
	}
	writeTokens(t, file, "# tokens of the test", lines["root"], lines["watcher"], subLine)
	asAlice := wire.NewClientServiceClient(dialWith(t, n.APIAddr(), kappaclient.Token(sub)))
	nodetest.Eventually(t, 5*time.Second, "the new token admitted", func() bool {
		_, err := asAlice.ListJobs(ctx, &wire.ListJobsRequest{})
		return err == nil
	})
	writeTokens(t, file, "this is not a token line")
	time.Sleep(2 * tokenRecheck)
	if _, err := asAlice.ListJobs(ctx, &wire.ListJobsRequest{}); err != nil {
		t.Fatalf("a broken token file dropped the tokens of the last good one: %v", err)
	}
}

func TestTokenFilesAreCheckedWhenTheNodeStarts(t *testing.T) {
	dir := t.TempDir()
	file, _, lines := tokenFile(t, dir, "root:admin")
	line := lines["root"]
	for _, c := range []struct {
		text string
		mode os.FileMode
		want string
	}{
		{line + "\nabc admin bob\n", 0o600, "tokens:2: the first field must be the token's sha256"},
		{strings.Replace(line, "admin", "root", 1) + "\n", 0o600, "tokens:1: unknown role \"root\""},
		{line + "\n", 0o666, "writable by others"},
	} {
		if err := os.WriteFile(file, []byte(c.text), c.mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(file, c.mode)
		_, err := Start(Config{NodeID: "n1", DataDir: filepath.Join(dir, "node"), Bootstrap: true, Invoker: exitingInvoker(t),
			Store: dirStore(t, dir), Keys: nodetest.KeyFile(t, filepath.Join(dir, "cluster.keys")), TokenFile: file})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("token file %q (mode %o): got %v, want %q", c.text, c.mode, err, c.want)
		}
	}
}

func TestCertificatesNameTheRoleAndPeersOnlyForward(t *testing.T) {
	ca := newTestCA(t)
	n := testNode(t, exitingInvoker(t), t.TempDir(), ca.nodeTLS(t, "n1"))
	defer n.Close()
	ctx := context.Background()
	admin := ca.as(t, "root", tlsconf.RoleAdmin)
	operator := ca.as(t, "ops", tlsconf.RoleOperator)
	lambdaCert := ca.as(t, "lambda-local", tlsconf.RoleLambda)
	otherNode := ca.as(t, "n9", tlsconf.RoleNode)

	_, err := wire.NewClientServiceClient(dialWith(t, n.APIAddr(), ca.anonymous(t))).ListJobs(ctx, &wire.ListJobsRequest{})
	wantCode(t, "TLS without a certificate or token", err, codes.Unauthenticated, "requires a client certificate, a token or a task credential")
	_, err = wire.NewClientServiceClient(dial(t, n)).ListJobs(ctx, &wire.ListJobsRequest{})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("plaintext to a TLS port: %v", err)
	}
	// lambda-local's certificate is a server's only: the handshake fails.
	_, err = wire.NewClientServiceClient(dialWith(t, n.APIAddr(), lambdaCert)).ListJobs(ctx, &wire.ListJobsRequest{})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("lambda-local's certificate as a client: %v", err)
	}

	asOps := wire.NewClientServiceClient(dialWith(t, n.APIAddr(), operator))
	if _, err := asOps.ListJobs(ctx, &wire.ListJobsRequest{}); err != nil {
		t.Fatalf("operator listing jobs: %v", err)
	}
	_, err = wire.NewAdminServiceClient(dialWith(t, n.APIAddr(), operator)).TransferLeader(ctx, &wire.TransferLeaderRequest{})
	wantCode(t, "operator transferring leadership", err, codes.PermissionDenied, `operator "ops" (certificate) may not call /kappa.v1.AdminService/TransferLeader`)

	// A node's certificate serves Raft and forwarding, not clients' work,
	// and a peer joins only as itself.
	asPeer := dialWith(t, n.APIAddr(), otherNode)
	_, err = wire.NewClientServiceClient(asPeer).SubmitJob(ctx, &wire.SubmitJobRequest{ClientId: "p", RequestId: 1, ProgramBundle: nodetest.BundleOf(t, prog)})
	wantCode(t, "a peer submitting", err, codes.PermissionDenied, `peer "n9" (node certificate) may not call /kappa.v1.ClientService/SubmitJob`)
	_, err = wire.NewAdminServiceClient(asPeer).Join(ctx, &wire.JoinRequest{NodeId: "n7", RaftAddr: "10.9.9.9:1", ApiAddr: "10.9.9.9:2"})
	wantCode(t, "a peer joining another id", err, codes.PermissionDenied, `may call /kappa.v1.AdminService/Join only for itself, not for node "n7"`)

	if _, err := wire.NewAdminServiceClient(dialWith(t, n.APIAddr(), admin)).Members(ctx, &wire.MembersRequest{}); err != nil {
		t.Fatalf("admin listing members: %v", err)
	}
	// A backup holds every job's state: admins only.
	backupAs := func(conn *grpc.ClientConn) error {
		stream, err := wire.NewAdminServiceClient(conn).Backup(ctx, &wire.BackupRequest{})
		if err == nil {
			_, err = stream.Recv()
		}
		return err
	}
	wantCode(t, "operator taking a backup", backupAs(dialWith(t, n.APIAddr(), operator)), codes.PermissionDenied,
		`operator "ops" (certificate) may not call /kappa.v1.AdminService/Backup`)
	if err := backupAs(dialWith(t, n.APIAddr(), admin)); err != nil {
		t.Fatalf("admin taking a backup: %v", err)
	}
}

func dirStore(t *testing.T, dir string) checkpoint.Store {
	t.Helper()
	s, err := checkpoint.OpenDir(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
