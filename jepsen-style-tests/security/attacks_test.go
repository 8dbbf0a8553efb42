// Package security attacks a running cluster the ways an attacker on its
// network, or a program it runs, would: every attempt must fail with a
// clear error that leaks nothing, while a healthy job beside the attacks
// finishes with the right result. Real `kappa server` processes, real
// Python workers.
package security

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/kappa-serverless/kappa/node/nodetest"
	"github.com/kappa-serverless/kappa/node/proccluster"
	"github.com/kappa-serverless/kappa/transport/kappaclient"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

func TestMain(m *testing.M) {
	code := m.Run()
	nodetest.RemoveKappaBinary()
	os.Exit(code)
}

// The healthy job: four children that checkpoint through several
// one-second lambdas each, so their epochs rise while the attacks run.
const healthyProgram = `
import time
from kappa import checkpoint, spawn, wait

def part(i):
    total = 0
    for k in range(24):
        time.sleep(0.1)
        total += i * k
        checkpoint()
    return total

def handler(event, context):
    return sum(wait(*[spawn(part, (i,)) for i in range(4)]))
`

const healthyResult = "1656" // (0+1+2+3) * sum(range(24))

// suite is the cluster under attack and who holds which credential.
type suite struct {
	t       *testing.T
	c       *proccluster.Cluster
	dir     string
	api     string
	tokens  map[string]string // name → token
	clients map[string]*kappaclient.Client
	// caOnly dials over TLS trusting the cluster's CA, with no client
	// certificate: how token holders (and attackers) connect.
	caOnly grpc.DialOption
}

func startSuite(t *testing.T) *suite {
	t.Helper()
	bin := nodetest.KappaBinary(t)
	dir := t.TempDir()
	s := &suite{t: t, dir: dir, tokens: map[string]string{}, clients: map[string]*kappaclient.Client{}}
	tokenFile := filepath.Join(dir, "tokens")
	for _, who := range []struct{ name, role string }{{"alice", "submitter"}, {"mallory", "submitter"}} {
		out := run(t, bin, "token", "create", who.name, "--role", who.role, "--append", tokenFile)
		s.tokens[who.name] = strings.TrimSpace(out)
	}
	var err error
	s.c, err = proccluster.Start(proccluster.Options{Binary: bin, Dir: t.TempDir(), Nodes: 1,
		ServerArgs: []string{"--log-level", "info", "--token-file", tokenFile, "--lambda-timeout", "1s", "--concurrency", "16"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.c.Stop(5 * time.Second) })
	s.api = s.c.Nodes[0].APIAddr
	s.caOnly = s.dialAs("")
	for name, tok := range s.tokens {
		cl, err := kappaclient.New(s.c.Addrs(), s.caOnly, kappaclient.Token(tok))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		s.clients[name] = cl
	}
	return s
}

// anonymous dials a node over TLS with no credentials at all.
func (s *suite) anonymous() *grpc.ClientConn { return s.conn(s.caOnly) }

// asNode dials a node with a node certificate of the cluster's CA for id
// (a real one: whoever holds it is a peer).
func (s *suite) asNode(id string) *grpc.ClientConn {
	dir, err := s.c.IssueNode(id, "127.0.0.1")
	if err != nil {
		s.t.Fatal(err)
	}
	return s.conn(s.dialAs(dir))
}

func (s *suite) conn(opt grpc.DialOption) *grpc.ClientConn {
	conn, err := grpc.NewClient(s.api, opt)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { conn.Close() })
	return conn
}

// dialAs dials over TLS as the holder of a certs dir ("": none).
func (s *suite) dialAs(dir string) grpc.DialOption {
	opt, err := s.c.DialAs(dir)
	if err != nil {
		s.t.Fatal(err)
	}
	return opt
}

// refused fails unless err has the code and a message that says want and
// carries none of the suite's secrets.
func (s *suite) refused(what string, err error, code codes.Code, want string) {
	s.t.Helper()
	if status.Code(err) != code || !strings.Contains(status.Convert(err).Message(), want) {
		s.t.Errorf("%s: got %v, want %s saying %q", what, err, code, want)
	}
	s.noSecrets(what, status.Convert(err).Message())
}

// noSecrets fails if text holds a token of the suite or anything shaped
// like an invocation id or a task secret.
func (s *suite) noSecrets(what, text string) {
	s.t.Helper()
	for name, tok := range s.tokens {
		if strings.Contains(text, tok) {
			s.t.Errorf("%s reveals %s's token: %q", what, name, text)
		}
	}
	if m := leakShape.FindString(text); m != "" {
		s.t.Errorf("%s holds %q, shaped like an invocation id or a task secret: %q", what, m, text)
	}
}

// leakShape: invocation ids are 24 hex digits, task secrets 64.
var leakShape = regexp.MustCompile(`[0-9a-f]{24,}`)

func TestAttacksFailWhileAHealthyJobFinishes(t *testing.T) {
	s := startSuite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	healthy := nodetest.Submit(t, s.clients["alice"], healthyProgram, "{}", "healthy", 0)

	t.Run("an unauthenticated client", func(t *testing.T) {
		_, err := wire.NewClientServiceClient(s.anonymous()).ListJobs(ctx, &wire.ListJobsRequest{})
		s.refused("listing jobs", err, codes.Unauthenticated, "requires a client certificate, a token or a task credential")
		_, err = wire.NewAdminServiceClient(s.anonymous()).Join(ctx, &wire.JoinRequest{NodeId: "evil", RaftAddr: "10.255.255.1:7100", ApiAddr: "10.255.255.1:7000"})
		s.refused("joining a rogue member", err, codes.Unauthenticated, "requires a client certificate, a token or a task credential")
		_, err = wire.NewClientServiceClient(s.anonymous()).CancelJob(ctx, &wire.CancelJobRequest{ClientId: "x", RequestId: 1, JobId: healthy})
		s.refused("cancelling a job", err, codes.Unauthenticated, "requires a client certificate, a token or a task credential")
	})

	t.Run("a submitter removes a member or cancels another's job", func(t *testing.T) {
		err := s.clients["mallory"].Remove(ctx, s.c.Nodes[0].ID)
		s.refused("removing a member", err, codes.PermissionDenied, `submitter "mallory" (token) may not call /kappa.v1.AdminService/Remove`)
		err = s.clients["mallory"].Cancel(ctx, healthy, "mine now")
		s.refused("cancelling alice's job", err, codes.PermissionDenied, "only for jobs it submitted")
		_, err = s.clients["mallory"].Job(ctx, healthy, false)
		s.refused("reading alice's job", err, codes.PermissionDenied, "only for jobs it submitted")
	})

	t.Run("a node certificate does clients' work or joins as another node", func(t *testing.T) {
		peer := s.asNode("n9")
		_, err := wire.NewClientServiceClient(peer).CancelJob(ctx, &wire.CancelJobRequest{ClientId: "n9", RequestId: 1, JobId: healthy})
		s.refused("a peer cancelling a job", err, codes.PermissionDenied, `peer "n9" (node certificate) may not call /kappa.v1.ClientService/CancelJob`)
		_, err = wire.NewAdminServiceClient(peer).Join(ctx, &wire.JoinRequest{NodeId: "evil", RaftAddr: "10.255.255.1:7100", ApiAddr: "10.255.255.1:7000"})
		s.refused("a peer joining as another node", err, codes.PermissionDenied, `may call /kappa.v1.AdminService/Join only for itself, not for node "evil"`)
		// A client cannot pass itself off as a forwarding node either.
		spoof := metadata.AppendToOutgoingContext(ctx, "kappa-on-behalf-of", "token:admin:root")
		_, err = wire.NewAdminServiceClient(s.anonymous()).Remove(spoof, &wire.RemoveRequest{NodeId: s.c.Nodes[0].ID})
		s.refused("an anonymous client claiming to forward for an admin", err, codes.Unauthenticated, "requires a client certificate, a token or a task credential")
		members, err := s.c.Client().Members(ctx)
		if err != nil || len(members.GetMembers()) != 1 {
			t.Fatalf("members after the refused joins and removals: %v %v", members, err)
		}
	})

	t.Run("a task acts for another task, and the old hijack", func(t *testing.T) {
		job := nodetest.Submit(t, s.clients["mallory"], attackerProgram, `{"victim": `+jsonUint(healthy)+`}`, "attacker", 0)
		st := nodetest.WaitJob(t, s.clients["mallory"], job, 2*time.Minute)
		if st.GetState() != wire.JobState_JOB_SUCCEEDED {
			t.Fatalf("the attacking job itself failed: %s", st.GetError())
		}
		var attempts map[string][]string
		if err := json.Unmarshal([]byte(st.GetResultJson()), &attempts); err != nil {
			t.Fatalf("the attacker's report: %v (%s)", err, st.GetResultJson())
		}
		checkAttempts(t, s, attempts)
	})

	st := nodetest.WaitJob(t, s.clients["alice"], healthy, 2*time.Minute)
	if st.GetState() != wire.JobState_JOB_SUCCEEDED || st.GetResultJson() != healthyResult {
		t.Fatalf("the healthy job beside the attacks: %s %q %s", st.GetState(), st.GetResultJson(), st.GetError())
	}
	audit, err := s.clients["alice"].Audit(ctx, healthy)
	if err != nil {
		t.Fatal(err)
	}
	if problems := nodetest.CheckAudit(audit); len(problems) > 0 {
		t.Fatalf("the healthy job's audit: %v", problems)
	}
	s.noSecrets("the node's log", s.c.Log(s.c.Nodes[0]))
}

func jsonUint(v uint64) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// attackerProgram is user code that turns on the coordinator from inside
// its lambda: it finds its own worker (and so its own task secret) and
// tries to act for the victim job's tasks. It reports every attempt as
// [reason, message]; "OK" means the attempt worked.
const attackerProgram = `
import gc, re, time
from kappa.v1 import task_pb2 as pb
from kappa.worker.client import Client, CoordinatorError
from kappa.worker.task import TaskRun

def me():
    # This invocation's worker: it holds the task secret. (Never kept in a
    # variable: a worker does not pickle, and the task checkpoints.)
    return [o for o in gc.get_objects() if isinstance(o, TaskRun)][0]

def attempt(report, name, call):
    try:
        call()
        report[name] = ["OK", ""]
    except CoordinatorError as e:
        report[name] = [e.reason, str(e)]

def current_epochs(victim, report):
    # A call for an epoch older than the current one is answered
    # "superseded", so probing finds each task's current epoch.
    epochs = {}
    for task in range(1, 6):
        for epoch in range(1, 40):
            try:
                me().client.heartbeat(pb.TaskRef(job_id=victim, task_id=task, epoch=epoch, claim="x"))
                report["heartbeat for t%d e%d" % (task, epoch)] = ["OK", ""]
            except CoordinatorError as e:
                if e.reason == "SUPERSEDED":
                    report["superseded message"] = [e.reason, str(e)]
                    continue
                epochs[task] = epoch
            break
    return epochs

def handler(event, context):
    victim = event["victim"]
    report = {}
    epochs = {}
    for _ in range(60):
        epochs = current_epochs(victim, report)
        if "superseded message" in report:
            break
        time.sleep(0.5)
    task, epoch = max(epochs.items(), key=lambda kv: kv[1])
    attempt(report, "claim another job's task", lambda: me().client.claim(victim, task, epoch, me().spec.invocation, "mallory"))
    # The old hijack: the superseded message named the current invocation;
    # claim with whatever it reveals now.
    revealed = re.findall(r"[0-9a-f]{16,}", report.get("superseded message", ["", ""])[1]) or [""]
    attempt(report, "the old hijack", lambda: me().client.claim(victim, task, epoch, revealed[0], "mallory"))
    forged = pb.CallRequest(ref=pb.TaskRef(job_id=victim, task_id=task, epoch=epoch, claim="mallory"), seq=1,
                            exit=pb.ExitOp(result_json='"forged"'))
    attempt(report, "forged exit", lambda: me().client.call(forged))
    attempt(report, "claim without a secret", lambda: Client(me().spec.coordinator, ca_pem=me().client.ca_pem).claim(victim, task, epoch, "", "mallory"))
    return report
`

// checkAttempts checks the attacker's report: nothing worked, every
// refusal is the expected one and leaks nothing.
func checkAttempts(t *testing.T, s *suite, attempts map[string][]string) {
	t.Helper()
	for name, a := range attempts {
		if len(a) != 2 || a[0] == "OK" {
			t.Errorf("attempt %q worked: %v", name, a)
			continue
		}
		s.noSecrets("attempt "+name, a[1])
	}
	want := map[string][2]string{
		"superseded message":       {"SUPERSEDED", "was superseded (the current epoch is"},
		"claim another job's task": {"PERMISSION_DENIED", "task credential does not match job"},
		"the old hijack":           {"PERMISSION_DENIED", "task credential does not match job"},
		"forged exit":              {"PERMISSION_DENIED", "task credential does not match job"},
		"claim without a secret":   {"PERMISSION_DENIED", "task credential does not match job"},
	}
	for name, w := range want {
		a, ok := attempts[name]
		if !ok || a[0] != w[0] || !strings.Contains(a[1], w[1]) {
			t.Errorf("attempt %q: got %v, want %s saying %q", name, a, w[0], w[1])
		}
	}
}

// run runs the kappa binary and returns its stdout.
func run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).Output()
	if err != nil {
		t.Fatalf("kappa %s: %v", strings.Join(args, " "), err)
	}
	return string(out)
}
