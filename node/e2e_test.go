package node

import (
	"context"
	"math/big"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/kappa-serverless/kappa/lambda/local"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// These tests run the whole path with real parts: the Python worker in
// local-platform processes, the real raft node, the directory store.

func requirePython(t *testing.T) {
	t.Helper()
	if out, err := exec.Command("python3", "-c", "import kappa.worker.handler").CombinedOutput(); err != nil {
		t.Fatalf("the kappa Python package must be installed for end-to-end tests (make install): %v\n%s", err, out)
	}
}

func localPlatform(t *testing.T, timeout time.Duration) *local.Platform {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: starts Python worker processes")
	}
	requirePython(t)
	p, err := local.New(local.Config{Timeout: timeout, Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// factorialProgram computes n! with a checkpoint every few steps; with
// "epochs" it then keeps checkpointing until that many invocations have
// claimed it, so a test sees several epochs however fast the machine is.
const factorialProgram = `
import time

from kappa import checkpoint, current_task

def handler(event, context):
    n = event["n"]
    acc = 1
    i = 1
    while i <= n:
        acc *= i
        if i % event["every"] == 0:
            checkpoint()
        i += 1
    while current_task().attempt < event.get("epochs", 0):
        time.sleep(0.05)
        checkpoint()
    return [acc.bit_length(), acc % 1000000007]
`

func factorialFingerprint(n int64) string {
	f := new(big.Int).MulRange(1, n)
	mod := new(big.Int).Mod(f, big.NewInt(1000000007))
	return "[" + strconv.Itoa(f.BitLen()) + ", " + mod.String() + "]"
}

func TestFactorialCrossesManyEpochs(t *testing.T) {
	n := testNode(t, localPlatform(t, time.Second), t.TempDir(), func(c *Config) { c.LambdaTimeout = time.Second })
	defer n.Close()
	c := clientFor(t, n)
	job := submitEvent(t, c, factorialProgram, `{"n": 60000, "every": 250, "epochs": 4}`)
	st := awaitJob(t, c, job, 3*time.Minute)
	if st.GetState() != wire.JobState_JOB_SUCCEEDED || st.GetResultJson() != factorialFingerprint(60000) {
		t.Fatalf("job %v, want %s", st, factorialFingerprint(60000))
	}
	if st.GetMaxEpoch() < 4 || st.GetYields() < 3 {
		t.Fatalf("the program runs until its fourth invocation; each of the first three must end by a yield before the 1 s deadline: %v", st)
	}
	assertAuditClean(t, c, job)
}

const treeProgram = `
from kappa import checkpoint, spawn, wait

def leaf(i):
    total = 0
    for k in range(2000):
        total += (k * i) % 7
        if k % 100 == 0:
            checkpoint()
    return total

def handler(event, context):
    futures = []
    for i in range(event["leaves"]):
        futures.append(spawn(leaf, (i,)))
    acc = 0
    for k in range(3000):
        acc = (acc * 31 + k) % 1000003
        if k % 50 == 0:
            checkpoint()
    return [acc, sum(wait(*futures))]
`

func TestWorkersKilledAtRandomMomentsResultStillRight(t *testing.T) {
	platform := localPlatform(t, 20*time.Second)
	n := testNode(t, platform, t.TempDir(), func(c *Config) { c.LambdaTimeout = 20 * time.Second })
	defer n.Close()
	c := clientFor(t, n)
	job := submitEvent(t, c, treeProgram, `{"leaves": 6}`)

	killer := startWorkerKiller(t, n, platform, job, 100*time.Millisecond, 400*time.Millisecond, 12)
	st := awaitJob(t, c, job, 4*time.Minute)
	kills := killer.Stop()
	want := expectedTree(6)
	if st.GetState() != wire.JobState_JOB_SUCCEEDED || st.GetResultJson() != want {
		t.Fatalf("after %d kills: job %v, want %s", kills, st, want)
	}
	if kills == 0 || st.GetRelaunches() == 0 {
		t.Fatalf("the test killed %d workers and saw %d relaunches; it proves nothing", kills, st.GetRelaunches())
	}
	t.Logf("%d kills, %d launches, %d relaunches", kills, st.GetLaunches(), st.GetRelaunches())
	assertAuditClean(t, c, job)
}

func expectedTree(leaves int) string {
	acc := 0
	for k := 0; k < 3000; k++ {
		acc = (acc*31 + k) % 1000003
	}
	sum := 0
	for i := 0; i < leaves; i++ {
		for k := 0; k < 2000; k++ {
			sum += (k * i) % 7
		}
	}
	return "[" + strconv.Itoa(acc) + ", " + strconv.Itoa(sum) + "]"
}

// dropResponse lets one Call commit and then never answers it, as if the
// response were lost on the way: the worker hangs until its lambda times out.
func dropResponse(match func(*wire.CallRequest) bool, dropped *atomic.Int64) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		resp, err := h(ctx, req)
		if call, ok := req.(*wire.CallRequest); ok && err == nil && match(call) {
			dropped.Add(1)
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return resp, err
	}
}

func TestDroppedResponseRelaunchContinuesWithStoredResponse(t *testing.T) {
	var dropped atomic.Int64
	match := func(c *wire.CallRequest) bool {
		return c.GetRef().GetTaskId() == 1 && c.GetRef().GetEpoch() == 1 && c.GetSeq() == 3 && c.GetSpawn() != nil
	}
	n := testNode(t, localPlatform(t, 3*time.Second), t.TempDir(), func(c *Config) {
		c.LambdaTimeout = 3 * time.Second
		c.TestInterceptor = dropResponse(match, &dropped)
	})
	defer n.Close()
	c := clientFor(t, n)
	job := submitEvent(t, c, `
from kappa import checkpoint, spawn

def child(x):
    return x * 10

def handler(event, context):
    checkpoint()
    checkpoint()
    f = spawn(child, (4,))
    return f.wait() + 2
`, `{}`)
	st := awaitJob(t, c, job, time.Minute)
	if st.GetState() != wire.JobState_JOB_SUCCEEDED || st.GetResultJson() != "42" {
		t.Fatalf("job %v", st)
	}
	if dropped.Load() != 1 || st.GetTasksTotal() != 2 || st.GetRelaunches() == 0 {
		t.Fatalf("dropped %d responses, %d tasks (the spawn must apply once), %d relaunches", dropped.Load(), st.GetTasksTotal(), st.GetRelaunches())
	}
	assertAuditClean(t, c, job)
}

func TestUnpicklableLiveVariableFailsTheTaskClearly(t *testing.T) {
	n := testNode(t, localPlatform(t, 10*time.Second), t.TempDir())
	defer n.Close()
	c := clientFor(t, n)
	job := submitEvent(t, c, `
import threading
from kappa import checkpoint

def handler(event, context):
    lock = threading.Lock()
    checkpoint()
    return str(lock)
`, `{}`)
	st := awaitJob(t, c, job, time.Minute)
	msg := st.GetError()
	if st.GetState() != wire.JobState_JOB_FAILED || !strings.Contains(msg, "variable 'lock' of type _thread.lock") ||
		!strings.Contains(msg, "prog.py:7") || st.GetLaunches() != 1 {
		t.Fatalf("job %v", st)
	}
}
