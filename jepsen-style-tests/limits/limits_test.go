// Package limits attacks a real cluster the way a careless or hostile
// submitter would — a zip bomb, huge events and results, input that is
// not what it claims — and checks each attack gets a clear refusal naming
// the limit, loses nothing, and leaves a healthy job beside it and the
// leader itself untouched. disks_test.go does the same for a full disk
// and corrupt Raft files.
package limits

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kappa-serverless/kappa/jepsen-style-tests/harness"
	"github.com/kappa-serverless/kappa/node/nodetest"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// healthy spawns children that checkpoint through several pauses; its
// result is the sum of their squares.
const healthy = `
import time
from kappa import checkpoint, spawn, wait

def child(i):
    for _ in range(6):
        time.sleep(0.2)
        checkpoint()
    return i * i

def handler(event, context):
    return sum(wait(*[spawn(child, (i,)) for i in range(event["n"])]))
`

// big returns a string of n characters: its result JSON is n+2 bytes.
const big = `
def handler(event, context):
    return "x" * event["n"]
`

// vmRSS is a process's resident set size in bytes, from /proc.
func vmRSS(t *testing.T, pid int) int64 {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmRSS for pid %d", pid)
	return 0
}

// zipBomb is a program bundle of about 650 KB that unpacks to 640 MiB:
// a valid manifest and entry, and forty 16 MiB files of zeros.
func zipBomb(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, data []byte, copies int) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		for range copies {
			w.Write(data)
		}
	}
	add("kappa.json", []byte(`{"format":1,"entry":"app.py"}`), 1)
	add("app.py", []byte("def handler(event, context):\n    return 1\n"), 1)
	zero := make([]byte, 1<<20)
	for i := range 40 {
		add(fmt.Sprintf("data/%02d.bin", i), zero, 16)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// steady are Raft timeouts that a loaded test machine does not trip, so a
// leadership change in these tests is the attack's doing.
var steady = []string{"--heartbeat-timeout", "2s", "--election-timeout", "2s", "--leader-lease-timeout", "1s"}

func TestOversizedInputsAreRefusedAndHarmless(t *testing.T) {
	c := harness.Start(t, harness.Options{Nodes: 3, LambdaTimeout: 2 * time.Second, ExtraServerArgs: steady})
	client := c.Client()
	leader := c.WaitLeader(30 * time.Second)
	before, err := c.Status(leader)
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	healthyJob := c.Submit(healthy, fmt.Sprintf(`{"n": %d}`, n), "healthy", 0)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	refused := func(what string, err error, code codes.Code, want string) {
		t.Helper()
		if status.Code(err) != code || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %s saying %q", what, err, code, want)
		}
	}

	// The zip bomb: refused from its declared sizes; the leader stays small.
	bomb := zipBomb(t)
	rss := vmRSS(t, leader.PID())
	_, err = client.Submit(ctx, bomb, []byte("{}"), "bomb", 0)
	refused("a zip bomb", err, codes.ResourceExhausted, "the program bundle unpacked is more than the limit of 64MiB (kappa server --max-bundle-bytes)")
	grew := vmRSS(t, leader.PID()) - rss
	t.Logf("zip bomb of %d KB: leader RSS %d MB → %+d MB", len(bomb)>>10, rss>>20, grew>>20)
	if grew > 50<<20 {
		t.Errorf("the leader's RSS grew by %d MB refusing a zip bomb", grew>>20)
	}

	// Events: over the event limit, then over the request limit.
	bundle := nodetest.BundleOf(t, big)
	for _, mib := range []int{8, 25, 70} {
		event := []byte(`{"n": 1, "pad": "` + strings.Repeat("p", mib<<20) + `"}`)
		_, err := client.Submit(ctx, bundle, event, fmt.Sprintf("event %d MiB", mib), 0)
		flag := "kappa server --max-event-bytes"
		if mib > 16 {
			flag = "kappa server --max-request-bytes"
		}
		refused(fmt.Sprintf("a %d MiB event", mib), err, codes.ResourceExhausted, flag)
	}
	_, err = client.Submit(ctx, bundle, []byte("{\"n\": 3,\n \"m\": }"), "bad event", 0)
	refused("an event that is not JSON", err, codes.InvalidArgument, "the event is not valid JSON: invalid character '}' looking for beginning of value at line 2, column 7")
	var notKappa bytes.Buffer
	zw := zip.NewWriter(&notKappa)
	w, _ := zw.Create("run.sh")
	w.Write([]byte("#!/bin/sh\n"))
	zw.Close()
	_, err = client.Submit(ctx, notKappa.Bytes(), []byte("{}"), "not kappa", 0)
	refused("a zip that is no Kappa bundle", err, codes.InvalidArgument, "not a Kappa bundle")

	// Results: 8 and 25 MiB go through the store and come back whole; 70
	// MiB is over the result limit and fails its job at once.
	for _, mib := range []int{8, 25, 70} {
		size := mib << 20
		job := c.Submit(big, fmt.Sprintf(`{"n": %d}`, size), fmt.Sprintf("result %d MiB", mib), 0)
		st := c.WaitJob(job, 2*time.Minute)
		if mib == 70 {
			if st.GetState() != wire.JobState_JOB_FAILED || st.GetLaunches() != 1 ||
				!strings.Contains(st.GetError(), fmt.Sprintf("the job's result is %d bytes of JSON; the limit is 67108864 (kappa server --max-result-bytes)", size+2)) {
				t.Errorf("a 70 MiB result: %s after %d launches: %s", st.GetState(), st.GetLaunches(), st.GetError())
			}
			continue
		}
		if st.GetState() != wire.JobState_JOB_SUCCEEDED || !st.GetResultStored() || st.GetResultBytes() != uint64(size+2) || st.GetResultJson() != "" {
			t.Fatalf("a %d MiB result: %v", mib, st)
		}
		got, err := client.Result(ctx, st)
		if err != nil || len(got) != size+2 || string(got[:3]) != `"xx` || got[len(got)-1] != '"' {
			t.Fatalf("the %d MiB result came back as %d bytes: %v", mib, len(got), err)
		}
	}
	if _, err := client.Jobs(ctx, false); err != nil {
		t.Fatalf("jobs list with stored results: %v", err)
	}

	st := c.WaitJob(healthyJob, 3*time.Minute)
	if want := fmt.Sprint((n - 1) * n * (2*n - 1) / 6); st.GetState() != wire.JobState_JOB_SUCCEEDED || st.GetResultJson() != want {
		t.Fatalf("the healthy job: %v (want %s)", st, want)
	}
	after, err := c.Status(leader)
	if err != nil || after.GetRaftState() != "Leader" || after.GetTerm() != before.GetTerm() {
		t.Fatalf("leadership changed: term %d → %d, %s now (%v)", before.GetTerm(), after.GetTerm(), after.GetRaftState(), err)
	}
	c.Converged(30 * time.Second)
	// Neither the results nor the refused inputs went into the Raft log.
	info, err := os.Stat(filepath.Join(leader.DataDir, "raft", "raft.db"))
	if err != nil || info.Size() > 8<<20 {
		t.Fatalf("the leader's raft.db: %v, %v bytes", err, info.Size())
	}
}
