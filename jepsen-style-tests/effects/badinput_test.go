package effects

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/jepsen-style-tests/harness"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// Bad programs and a tampered checkpoint each end their own job with a
// clear error, while a healthy job on the same cluster finishes untouched.

const unpicklable = `
import threading
from kappa import create_queue

def handler(event, context):
    q = create_queue(2)
    q.enqueue("fine", threading.Lock())
`

const missingQueue = `
from kappa import Queue, current_task

def handler(event, context):
    return Queue(current_task().job, 99).dequeue()
`

const foreignFuture = `
from kappa import Future

def handler(event, context):
    return Future(event["other"], 1).wait()
`

// The victim checkpoints, then sleeps past its lambda's time limit with no
// pause point, so it is killed and relaunched from that checkpoint — which
// the test has tampered with by then.
const victim = `
import time
from kappa import checkpoint, spawn

def victim():
    secret = [1, 2, 3]
    checkpoint()
    time.sleep(30)
    return secret

def handler(event, context):
    return spawn(victim, ()).wait()
`

func TestBadInputFailsClearlyAndLosesNothing(t *testing.T) {
	c := harness.Start(t, harness.Options{Nodes: 1, LambdaTimeout: 3 * time.Second})
	svc := harness.NewReceiver(t, 0)
	ev := event
	ev.Service = svc.URL()
	healthy := c.Submit(workload, ev.JSON(), "healthy", maxLaunches)
	tampered := c.Submit(victim, "{}", "tampered", 0)
	bad := map[string]uint64{
		"item 1 of type _thread.lock can't be pickled (TypeError: cannot pickle '_thread.lock' object)":                           c.Submit(unpicklable, "{}", "unpicklable", 0),
		"dequeue refused by the coordinator (NOT_FOUND)":                                                                          c.Submit(missingQueue, "{}", "missing-queue", 0),
		fmt.Sprintf("wait: Future(j%d/t1) belongs to job j%d; a task can only wait for futures of its own job", healthy, healthy): c.Submit(foreignFuture, fmt.Sprintf(`{"other": %d}`, healthy), "foreign-future", 0),
	}

	// Flip one byte in the middle of the victim's checkpoint (task 2, the
	// checkpoint before its call 1) while its lambda sleeps.
	ckpt := filepath.Join(c.Dir(), "store", "jobs", fmt.Sprintf("j%d", tampered), "t2", "e1-s1.ckpt")
	flipByte(t, ckpt, 30*time.Second)

	for want, job := range bad {
		st := c.WaitJob(job, time.Minute)
		if st.GetState() != wire.JobState_JOB_FAILED || !strings.Contains(st.GetError(), want) {
			t.Errorf("job j%d %s: %q\nwant an error with %q", job, st.GetState(), st.GetError(), want)
		}
	}
	st := c.WaitJob(tampered, time.Minute)
	want := "refusing checkpoint jobs/j%d/t2/e1-s1.ckpt: integrity check failed at jobs/j%d/t2/e1-s1.ckpt: the hmac-sha256 tag does not match"
	if st.GetState() != wire.JobState_JOB_FAILED || !strings.Contains(st.GetError(), fmt.Sprintf(want, tampered, tampered)) {
		t.Errorf("tampered job j%d %s: %q", tampered, st.GetState(), st.GetError())
	}
	t.Logf("tampered checkpoint: %s", lineWith(st.GetError(), "refusing checkpoint"))

	st = c.WaitJob(healthy, 3*time.Minute)
	if st.GetState() != wire.JobState_JOB_SUCCEEDED {
		t.Fatalf("the healthy job: %s %s", st.GetState(), st.GetError())
	}
	checkWorkload(t, st.GetResultJson(), ev)
	svc.Check(t, ev.EffectTasks*ev.EffectsPerTask)
	audit(t, c, healthy)
}

func flipByte(t *testing.T, path string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		data, err := os.ReadFile(path)
		if err == nil && len(data) > 0 {
			data[len(data)/2] ^= 0x40
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear: %v", path, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func lineWith(s, part string) string {
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, part) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}
