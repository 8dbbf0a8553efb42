package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/node/nodetest"
	"github.com/kappa-serverless/kappa/node/proccluster"
)

// startServer runs one bootstrapped `kappa server` with the local platform
// and returns its API address once it answers; the test's kappa commands
// reach it as its admin (KAPPA_CERTS_DIR).
func startServer(t *testing.T, extra ...string) string {
	t.Helper()
	c, err := proccluster.Start(proccluster.Options{Binary: nodetest.KappaBinary(t), Dir: t.TempDir(), Nodes: 1,
		ServerArgs: append([]string{"--log-level", "warn"}, extra...)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop(5 * time.Second) })
	t.Setenv("KAPPA_CERTS_DIR", c.CertsDir())
	return c.Nodes[0].APIAddr
}

const loggingProgram = `
import os, time
from kappa import spawn

def child(x):
    print("child got", x)
    return x * 10

def handler(event, context):
    print("root runs as", context.aws_request_id)
    if not os.path.exists(event["marker"]):
        open(event["marker"], "w").close()
        print("sleeping past the deadline")
        time.sleep(60)
    f = spawn(child, (4,))
    return f.wait() + 2
`

var printedID = regexp.MustCompile(`\| root runs as ([0-9a-f-]+)`)

var logHeader = regexp.MustCompile(`(?m)^j1/t(\d+) epoch (\d+)  request ([0-9a-f-]{36})  (\w+)  \((cold|warm) start`)

// Every invocation's output is kept under its request id, a deadline shows
// as a timeout with Lambda's message, and one task's logs can be asked for.
func TestTasksLogsShowEachInvocation(t *testing.T) {
	api := startServer(t, "--lambda-timeout", "3s")
	prog := nodetest.WriteFile(t, "logging.py", loggingProgram)
	event := fmt.Sprintf(`{"marker": %q}`, filepath.Join(t.TempDir(), "slept"))
	if r := kappa(t, "run", "--cluster", api, prog, "--event", event); r.code != 0 || strings.TrimSpace(r.stdout) != "42" {
		t.Fatalf("run: exit %d %q\n%s", r.code, r.stdout, r.stderr)
	}
	r := kappa(t, "tasks", "logs", "j1", "--cluster", api)
	if r.code != 0 {
		t.Fatalf("tasks logs: %+v", r)
	}
	heads := logHeader.FindAllStringSubmatch(r.stdout, -1)
	blocks := strings.Split(r.stdout, "\n\n")
	if len(heads) != len(blocks) || len(heads) < 3 {
		t.Fatalf("want one header per invocation (≥3: timeout, relaunch, child):\n%s", r.stdout)
	}
	var timeouts, rootOK, childOK, starts int
	for i, h := range heads {
		task, outcome, reqID, block := h[1], h[4], h[3], blocks[i]
		switch {
		case task == "1" && outcome == "timeout":
			timeouts++
			if !strings.Contains(block, "Task timed out after 3.00 seconds") || !strings.Contains(block, "| sleeping past the deadline") {
				t.Errorf("timeout block lacks Lambda's message or the output:\n%s", block)
			}
		case task == "1" && outcome == "ok":
			rootOK++
		case task == "2" && outcome == "ok":
			childOK++
			if !strings.Contains(block, "| child got 4") {
				t.Errorf("child's block lacks its output:\n%s", block)
			}
		}
		// Output is attributed to the invocation that printed it (a
		// relaunch that resumes from a checkpoint prints nothing).
		if m := printedID.FindStringSubmatch(block); m != nil {
			starts++
			if m[1] != reqID {
				t.Errorf("block of request %s shows the output of %s:\n%s", reqID, m[1], block)
			}
		}
	}
	if timeouts != 1 || rootOK == 0 || childOK != 1 || starts != 2 {
		t.Fatalf("timeouts %d, root ok %d, child ok %d, starts from scratch %d (want 1, ≥1, 1, 2):\n%s", timeouts, rootOK, childOK, starts, r.stdout)
	}

	one := kappa(t, "tasks", "logs", "j1", "t2", "--cluster", api)
	if one.code != 0 || strings.Contains(one.stdout, "j1/t1 ") || !strings.Contains(one.stdout, "child got 4") {
		t.Fatalf("logs of t2 only: %+v", one)
	}
	if bad := kappa(t, "tasks", "logs", "j9", "--cluster", api); bad.code == 0 || !strings.Contains(bad.stderr, "j9 does not exist") {
		t.Fatalf("unknown job: %+v", bad)
	}
	if bad := kappa(t, "tasks", "logs", "j1", "x", "--cluster", api); bad.code != 2 || strings.Count(strings.TrimSpace(bad.stderr), "\n") != 0 {
		t.Fatalf("bad task id: %+v", bad)
	}
}
