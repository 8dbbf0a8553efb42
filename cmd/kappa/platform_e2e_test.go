package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/lambda/lambdaapi"
	"github.com/kappa-serverless/kappa/lambda/local"
	"github.com/kappa-serverless/kappa/node"
	"github.com/kappa-serverless/kappa/node/nodetest"
	"github.com/kappa-serverless/kappa/transport/kappaclient"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// These tests run jobs end to end as the coordinator runs them in
// production: node → aws-sdk-go-v2 → the Lambda Invoke API → the local
// platform's worker processes.

type stack struct {
	node     *node.Node
	platform *local.Platform
	client   *kappaclient.Client
}

// startStack serves the local platform through the Invoke API (throttling
// like Lambda when throttle is set) to a one-node cluster that runs up to
// maxInvocations lambdas at once.
func startStack(t testing.TB, o lambdaOptions, throttle bool, maxInvocations int) *stack {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: starts Python worker processes")
	}
	o.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	raftLog := io.Discard
	if testing.Verbose() {
		o.logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
		raftLog = os.Stderr
	}
	o.function, o.python = "kappa-worker", pythonPath(o.python)
	creds := randomCredentials()
	srv, fns, err := localInvokeAPI(o, invokeAPI{throttle: throttle, creds: creds})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); srv.Close(); <-done; lambdaapi.CloseFunctions(fns) })
	inv, err := sdkInvoker(o, "http://"+ln.Addr().String(), creds, nil)
	if err != nil {
		t.Fatal(err)
	}
	store, err := checkpoint.OpenDir(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.Start(node.Config{NodeID: "n1", DataDir: t.TempDir(), APIAddr: "127.0.0.1:0", Bootstrap: true,
		Invoker: inv, MaxInvocations: maxInvocations, Function: o.function, LambdaTimeout: o.timeout, Store: store, Logger: o.logger,
		RaftLog: raftLog, Keys: nodetest.KeyFile(t, filepath.Join(t.TempDir(), "cluster.keys"))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer wcancel()
	if err := n.WaitLeader(wctx); err != nil {
		t.Fatal(err)
	}
	c, err := kappaclient.New([]string{n.APIAddr()}, kappaclient.Insecure())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &stack{node: n, platform: fns[o.function], client: c}
}

// run submits a program and waits (generously: the machine is shared) for
// its end.
func (s *stack) run(t testing.TB, source, event string) *wire.JobStatus {
	t.Helper()
	return nodetest.WaitJob(t, s.client, nodetest.Submit(t, s.client, source, event, "e2e", 0), 5*time.Minute)
}

// auditClean checks the FSM's record: every task applied seqs 1..seq, each
// once, in distinct log entries.
func (s *stack) auditClean(t *testing.T, job uint64) {
	t.Helper()
	a, err := s.client.Audit(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if problems := nodetest.CheckAudit(a); len(problems) > 0 {
		t.Fatalf("audit of j%d: %v", job, problems)
	}
}

const squaresProgram = `
import time
from kappa import spawn, checkpoint

def square(i, pause):
    for _ in range(3):
        checkpoint()
        time.sleep(pause)
    return i * i

def handler(event, context):
    futures = [spawn(square, (i, event["pause"])) for i in range(event["n"])]
    return sum(f.wait() for f in futures)
`

func sumOfSquares(n int) string {
	s := 0
	for i := range n {
		s += i * i
	}
	return strconv.Itoa(s)
}

func succeeded(t *testing.T, st *wire.JobStatus, want string) {
	t.Helper()
	if st.GetState() != wire.JobState_JOB_SUCCEEDED || st.GetResultJson() != want {
		t.Fatalf("job %s result %s (want %s): %s", st.GetState(), st.GetResultJson(), want, st.GetError())
	}
}

// Workers whose interpreter lacks the kappa package never start: each
// launch is one invocation answered with a function error (no service
// error retried for minutes), and the launch bound fails the job with the
// last error, which names the interpreter.
func TestJobWhoseWorkersCannotStartFailsWithTheLastError(t *testing.T) {
	python := pythonWithoutKappa(t)
	s := startStack(t, lambdaOptions{concurrency: 2, timeout: time.Minute, python: python}, true, 2)
	st := s.run(t, "def handler(event, context):\n    return 1\n", "{}")
	const launches = 8 // the default --max-launches
	if st.GetState() != wire.JobState_JOB_FAILED || !strings.Contains(st.GetError(), fmt.Sprintf("launched %d times", launches)) ||
		!strings.Contains(st.GetError(), "Runtime.ImportModuleError") || !strings.Contains(st.GetError(), python) {
		t.Fatalf("job %s: %s", st.GetState(), st.GetError())
	}
	if stats := s.platform.Stats(); stats.Invocations != launches || stats.FunctionErrors != launches {
		t.Fatalf("platform %+v: want %d invocations, each a function error", stats, launches)
	}
}

// 51 tasks (the root and 50 children) through a platform of 4 that
// throttles like Lambda while the leader launches up to 8: the SDK's
// throttles are retried and every task completes.
func TestFiftyTasksUnderConcurrencyFourWithThrottling(t *testing.T) {
	s := startStack(t, lambdaOptions{concurrency: 4, timeout: time.Minute}, true, 8)
	st := s.run(t, squaresProgram, `{"n": 50, "pause": 0.02}`)
	succeeded(t, st, sumOfSquares(50))
	stats := s.platform.Stats()
	if stats.PeakBusy > 4 || stats.PeakBusy < 2 || st.GetTasksTotal() != 51 {
		t.Fatalf("peak %d lambdas at once (limit 4), %d tasks", stats.PeakBusy, st.GetTasksTotal())
	}
	if stats.Throttles == 0 {
		t.Fatalf("no invocation was throttled: the test did not exercise the retry (%+v)", stats)
	}
	s.auditClean(t, st.GetJobId())
}

// The platform delivers invocations twice and loses responses: duplicates
// are refused by the claim rule, lost responses make the leader relaunch,
// and the result and the FSM's record stay right.
func TestDuplicatedDeliveriesAndDroppedResponses(t *testing.T) {
	o := lambdaOptions{concurrency: 6, timeout: time.Minute, faults: local.Faults{Duplicate: 0.4, Drop: 0.3, Seed: 7}}
	s := startStack(t, o, false, 6)
	st := s.run(t, squaresProgram, `{"n": 12, "pause": 0.05}`)
	succeeded(t, st, sumOfSquares(12))
	stats := s.platform.Stats()
	if stats.Duplicates == 0 || stats.Dropped == 0 {
		t.Fatalf("faults not exercised: %+v", stats)
	}
	s.auditClean(t, st.GetJobId())
}

// Worker processes SIGKILLed at random moments of their invocations end as
// crashes, never as timeouts, and their tasks resume from their
// checkpoints.
func TestRandomWorkerKillsAreCrashes(t *testing.T) {
	s := startStack(t, lambdaOptions{concurrency: 4, timeout: time.Minute}, false, 4)
	stop := make(chan struct{})
	killed := make(chan int)
	go func() {
		n := 0
		defer func() { killed <- n }()
		rng := rand.New(rand.NewPCG(3, 4))
		for n < 6 {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(200+rng.IntN(400)) * time.Millisecond):
			}
			// Only a worker running an invocation has one to crash; a
			// random pick on a slow machine may hit only workers in
			// start-up or idle in the pool.
			if pids := s.platform.ServingPIDs(); len(pids) > 0 {
				if syscall.Kill(pids[rng.IntN(len(pids))], syscall.SIGKILL) == nil {
					n++
				}
			}
		}
	}()
	st := s.run(t, squaresProgram, `{"n": 12, "pause": 0.3}`)
	close(stop)
	kills := <-killed
	succeeded(t, st, sumOfSquares(12))
	stats := s.platform.Stats()
	if kills == 0 || stats.Crashes == 0 || stats.Timeouts != 0 {
		t.Fatalf("%d kills gave %d crashes and %d timeouts (want crashes only)", kills, stats.Crashes, stats.Timeouts)
	}
	s.auditClean(t, st.GetJobId())
}

// Every example runs through `kappa run`, whose coordinator invokes the
// local platform through the SDK and the Invoke API: in this package's
// tests, or in python/tests/examples (those needing a service beside them,
// like the crawler's de-duplicating receiver). Those tests do the running;
// this one only keeps a new example from being added without one: it fails
// when an example's file name appears in neither test file.
func TestEveryExampleIsNamedByATest(t *testing.T) {
	var tests strings.Builder
	for _, f := range []string{"cli_test.go", filepath.Join("..", "..", "python", "tests", "examples", "test_examples.py")} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tests.Write(b)
	}
	progs, _ := filepath.Glob(filepath.Join("..", "..", "examples", "*.py"))
	if len(progs) == 0 {
		t.Fatal("no examples found")
	}
	for _, p := range progs {
		name := strings.TrimSuffix(filepath.Base(p), ".py")
		if name == "dedup_service" { // the crawler's receiver, started by its test
			continue
		}
		if !strings.Contains(tests.String(), name+".py") {
			t.Errorf("example %s is run by no test", filepath.Base(p))
		}
	}
}
