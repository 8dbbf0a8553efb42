package node

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/fsm"
	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
	"github.com/kappa-serverless/kappa/lambda"
	"github.com/kappa-serverless/kappa/node/nodetest"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// scriptedInvoker stands in for a lambda platform whose "worker" is Go
// code speaking the real task API over gRPC to the real node, so node tests
// can script exactly what a worker does in each epoch.
type scriptedInvoker struct {
	t       *testing.T
	mu      sync.Mutex
	epochs  []uint64
	running int // invocations whose script has not returned
	script  func(w *fakeWorker) lambda.Outcome
	node    *Node // the node invoking, once testNode started it
}

// bind names the node that invokes s, so its workers know when the test
// is closing it.
func (s *scriptedInvoker) bind(n *Node) {
	s.mu.Lock()
	s.node = n
	s.mu.Unlock()
}

// closing says whether the test has begun closing the invoking node: a
// worker call cut off then is the test's doing, not a failure.
func (s *scriptedInvoker) closing() bool {
	s.mu.Lock()
	n := s.node
	s.mu.Unlock()
	if n == nil {
		return false
	}
	select {
	case <-n.done:
		return true
	default:
		return false
	}
}

// idle waits until every script has returned. A job can be seen finished
// while its worker's last call is still being answered (or, cancelled,
// before the worker learns it): a test closing its node then would cut
// that call off.
func (s *scriptedInvoker) idle() {
	nodetest.Eventually(s.t, 10*time.Second, "return of every scripted invocation", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.running == 0
	})
}

func (s *scriptedInvoker) Invoke(ctx context.Context, inv lambda.Invocation) (lambda.Result, error) {
	var ev InvocationEvent
	if err := json.Unmarshal(inv.Payload, &ev); err != nil {
		s.t.Errorf("payload does not decode: %v", err)
		return lambda.Result{Outcome: lambda.Crash}, nil
	}
	spec := ev.Kappa
	s.mu.Lock()
	s.epochs = append(s.epochs, spec.Epoch)
	s.running++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.running--
		s.mu.Unlock()
	}()
	conn, err := grpc.NewClient(spec.Coordinator[0], grpc.WithTransportCredentials(insecure.NewCredentials()), withTaskSecret(spec.TaskSecret))
	if err != nil {
		return lambda.Result{}, err
	}
	defer conn.Close()
	w := &fakeWorker{t: s.t, spec: spec, c: wire.NewTaskServiceClient(conn), closing: s.closing}
	outcome := s.script(w)
	return lambda.Result{Outcome: outcome, Payload: w.result}, nil
}

// withTaskSecret sends an invocation's task secret with every call, as
// the Python worker does.
func withTaskSecret(secret string) grpc.DialOption {
	return grpc.WithUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return invoker(metadata.AppendToOutgoingContext(ctx, TaskSecretKey, secret), method, req, reply, cc, opts...)
	})
}

// fakeWorker is one invocation, driven by a test script.
type fakeWorker struct {
	t     *testing.T
	spec  InvocationSpec
	c     wire.TaskServiceClient
	ref   *wire.TaskRef
	grant *wire.ClaimResponse
	seq   uint64
	// result: what the invocation returns (its JSON), if anything
	result []byte
	// closing says whether the test is closing the node (nil: never)
	closing func() bool
}

// errorf fails the test, unless the test has begun closing the node: the
// last call of a finished job may still be on its way then.
func (w *fakeWorker) errorf(format string, args ...any) {
	if w.closing != nil && w.closing() {
		w.t.Logf("after the node began closing: "+format, args...)
		return
	}
	w.t.Errorf(format, args...)
}

func (w *fakeWorker) claim() *wire.ClaimResponse {
	w.ref = &wire.TaskRef{JobId: w.spec.Job, TaskId: w.spec.Task, Epoch: w.spec.Epoch, Claim: fmt.Sprintf("nonce-%d", w.spec.Epoch)}
	g, err := w.c.Claim(context.Background(), &wire.ClaimRequest{JobId: w.spec.Job, TaskId: w.spec.Task, Epoch: w.spec.Epoch, InvocationId: w.spec.Invocation, Claim: w.ref.Claim})
	if err != nil {
		w.errorf("claim: %v", err)
		return nil
	}
	w.grant, w.seq = g, g.GetSeq()
	return g
}

// call sends the next call; key is the checkpoint written before it.
func (w *fakeWorker) call(req *wire.CallRequest) (*wire.CallResponse, error) {
	req.Ref, req.Seq = w.ref, w.seq+1
	if req.GetExit() == nil && req.GetFail() == nil {
		req.CheckpointKey = checkpoint.CheckpointKey(w.spec.Job, w.spec.Task, w.spec.Epoch, req.Seq)
	}
	resp, err := w.c.Call(context.Background(), req)
	if err == nil {
		w.seq++
	}
	return resp, err
}

func (w *fakeWorker) mustCall(req *wire.CallRequest) *wire.CallResponse {
	resp, err := w.call(req)
	if err != nil {
		w.errorf("call %d: %v", w.seq+1, err)
	}
	return resp
}

// pollUntilReady polls a blocked call until its response arrives.
func (w *fakeWorker) pollUntilReady() *wire.CallResponse {
	for i := 0; i < 500; i++ {
		r, err := w.c.Poll(context.Background(), &wire.PollRequest{Ref: w.ref, Seq: w.seq})
		if err != nil {
			w.errorf("poll: %v", err)
			return nil
		}
		if r.GetReady() {
			return r.GetResponse()
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.errorf("the blocked call %d never got its response", w.seq)
	return nil
}

func checkpointReq() *wire.CallRequest {
	return &wire.CallRequest{Op: &wire.CallRequest_Checkpoint{Checkpoint: &wire.CheckpointOp{}}}
}

func yieldReq() *wire.CallRequest {
	return &wire.CallRequest{Op: &wire.CallRequest_Yield{Yield: &wire.YieldOp{}}}
}

func exitReq(resultJSON string) *wire.CallRequest {
	return &wire.CallRequest{Op: &wire.CallRequest_Exit{Exit: &wire.ExitOp{
		Result: &wire.Value{Where: &wire.Value_Inline{Inline: []byte(resultJSON)}}, ResultJson: resultJSON}}}
}

// testNode starts a single-voter node with its own data dir.
func testNode(t *testing.T, inv lambda.Invoker, dataDir string, tweak ...func(*Config)) *Node {
	t.Helper()
	store, err := checkpoint.OpenDir(filepath.Join(dataDir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		NodeID: "n1", DataDir: filepath.Join(dataDir, "node"), Bootstrap: true,
		Invoker: inv, Store: store, LambdaTimeout: 10 * time.Second,
		RaftLog: testWriter{t}, RaftLogLevel: "debug", Keys: nodetest.KeyFile(t, filepath.Join(dataDir, "cluster.keys")),
	}
	for _, f := range tweak {
		f(&cfg)
	}
	n, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := inv.(*scriptedInvoker); ok {
		s.bind(n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := n.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	return n
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	if os.Getenv("KAPPA_TEST_RAFT_LOG") != "" {
		w.t.Log(string(p))
	}
	return len(p), nil
}

func dial(t *testing.T, n *Node) *grpc.ClientConn {
	conn, err := grpc.NewClient(n.APIAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func clientFor(t *testing.T, n *Node) wire.ClientServiceClient {
	return wire.NewClientServiceClient(dial(t, n))
}

// submit submits a one-file program with an empty event.
func submit(t *testing.T, c wire.ClientServiceClient, source string) uint64 {
	t.Helper()
	return submitEvent(t, c, source, "{}")
}

// submitEvent submits a one-file program and returns the job id.
func submitEvent(t *testing.T, c wire.ClientServiceClient, source, event string) uint64 {
	t.Helper()
	res, err := c.SubmitJob(context.Background(), &wire.SubmitJobRequest{ClientId: "test", RequestId: uint64(time.Now().UnixNano()),
		ProgramBundle: nodetest.BundleOf(t, source), EventJson: []byte(event)})
	if err != nil {
		t.Fatal(err)
	}
	return res.GetJobId()
}

// awaitJob follows a job until it finishes (or the timeout passes).
func awaitJob(t *testing.T, c wire.ClientServiceClient, job uint64, timeout time.Duration) *wire.JobStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	stream, err := c.WatchJob(ctx, &wire.WatchJobRequest{JobId: job})
	if err != nil {
		t.Fatal(err)
	}
	var last *wire.JobStatus
	for {
		st, err := stream.Recv()
		if err != nil {
			break
		}
		last = st
	}
	if last == nil || last.GetState() == wire.JobState_JOB_RUNNING {
		t.Fatalf("job j%d did not finish in %s: %v", job, timeout, last)
	}
	return last
}

func jobTasks(n *Node, job uint64) (out []*pb.Task) {
	n.replica.read(func(m *fsm.Machine) { out = m.JobTasks(job) })
	return out
}

func jobTask(n *Node, job, task uint64) (out *pb.Task) {
	n.replica.read(func(m *fsm.Machine) { out = m.Task(fsm.TaskKey{Job: job, Task: task}) })
	return out
}
