package security

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/node/nodetest"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// victimProgram's root checkpoints before it waits for a child that
// lives until a flag file appears; it resumes from that checkpoint.
const victimProgram = `
import os, time
from kappa import spawn, checkpoint

def wait_for(path):
    while not os.path.exists(path):
        checkpoint()
        time.sleep(0.1)
    return 1

def handler(event, context):
    return spawn(wait_for, (event["flag"],)).wait()
`

// blobAttackerProgram is user code with its own job's keys (from its
// claim grant) and the shared store: it reads the victim's checkpoint,
// tries to verify it with its own keys, then seals a pickle of its own for
// the victim's header with them and puts it in place of the checkpoint.
// Were the pickle ever loaded, it would create the marker file.
const blobAttackerProgram = `
import gc, json, os, pickle, struct
from kappa.store import envelope
from kappa.worker.task import TaskRun

class Plant:
    def __init__(self, path):
        self.path = path
    def __reduce__(self):
        return (open, (self.path, "w"))

def handler(event, context):
    me = [o for o in gc.get_objects() if isinstance(o, TaskRun)][0]
    keys, kid = dict(me.codec.keys), me.codec.kid
    blob = open(event["checkpoint"], "rb").read()
    report = {"read": len(blob)}
    try:
        envelope.open_envelope(keys, blob, "the victim's checkpoint")
        report["verify"] = "OK"
    except envelope.TamperedError as e:
        report["verify"] = str(e)
    start = len(envelope.MAGIC) + 4
    (n,) = struct.unpack(">I", blob[len(envelope.MAGIC):start])
    header = envelope.Header(**json.loads(blob[start:start + n]))
    forged = envelope.seal(kid, keys[kid], header, pickle.dumps(Plant(event["marker"])))
    tmp = event["checkpoint"] + ".forged"
    with open(tmp, "wb") as f:
        f.write(forged)
    os.replace(tmp, event["checkpoint"])
    report["forged"] = len(forged)
    return report
`

// A job's code holds its own job's keys and can reach every blob of the
// shared store (the store gives no confidentiality, docs/security.md): it
// reads another job's checkpoint but cannot verify it with its keys, and a
// checkpoint it forges with them is refused by the victim before anything
// is unpickled; the victim fails loudly, the healthy job beside finishes.
func TestAJobCannotVerifyOrForgeAnotherJobsCheckpoint(t *testing.T) {
	s := startSuite(t)
	alice, mallory := s.clients["alice"], s.clients["mallory"]
	healthy := nodetest.Submit(t, alice, healthyProgram, "{}", "healthy", 0)
	store := strings.TrimPrefix(s.c.Store(), "file://")
	flag, marker := filepath.Join(s.dir, "flag"), filepath.Join(s.dir, "planted")
	victim := nodetest.Submit(t, alice, victimProgram, fmt.Sprintf(`{"flag": %q}`, flag), "victim", 0)
	var ckpt string
	nodetest.Eventually(t, time.Minute, "the victim's root checkpointing before its wait", func() bool {
		entries, _ := os.ReadDir(filepath.Join(store, filepath.FromSlash(checkpoint.TaskPrefix(victim, 1))))
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), "-s2.ckpt") {
				ckpt = filepath.Join(store, filepath.FromSlash(checkpoint.TaskPrefix(victim, 1)), e.Name())
			}
		}
		return ckpt != ""
	})

	// Only a parked root resumes from the store; one still polling in its
	// lambda would get the child's result without reading the checkpoint.
	nodetest.Eventually(t, time.Minute, "the victim's root parked", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		st, err := alice.JobDetail(ctx, victim, false)
		for _, task := range st.GetTasks() {
			if task.GetTaskId() == 1 && task.GetState() == "parked" {
				return err == nil
			}
		}
		return false
	})

	event, _ := json.Marshal(map[string]string{"checkpoint": ckpt, "marker": marker})
	attacker := nodetest.Submit(t, mallory, blobAttackerProgram, string(event), "forger", 0)
	st := nodetest.WaitJob(t, mallory, attacker, 2*time.Minute)
	if st.GetState() != wire.JobState_JOB_SUCCEEDED {
		t.Fatalf("the attacking job itself failed: %s", st.GetError())
	}
	var report struct {
		Read, Forged int
		Verify       string
	}
	if err := json.Unmarshal([]byte(st.GetResultJson()), &report); err != nil {
		t.Fatalf("the attacker's report: %v (%s)", err, st.GetResultJson())
	}
	if report.Read == 0 || report.Forged == 0 {
		t.Fatalf("the attacker did not get to read and replace the checkpoint: %+v", report)
	}
	if !strings.Contains(report.Verify, "integrity check failed at the victim's checkpoint: the hmac-sha256 tag does not match (key id 'k1')") {
		t.Errorf("verifying another job's checkpoint with its own key: %q", report.Verify)
	}

	if err := os.WriteFile(flag, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	st = nodetest.WaitJob(t, alice, victim, 2*time.Minute)
	if st.GetState() != wire.JobState_JOB_FAILED || !strings.Contains(st.GetError(), "integrity check failed") ||
		!strings.Contains(st.GetError(), "tag does not match (key id 'k1')") {
		t.Fatalf("the victim resuming from the forged checkpoint: %s %s", st.GetState(), st.GetError())
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatalf("the forged pickle was loaded: %v", err)
	}
	st = nodetest.WaitJob(t, alice, healthy, 2*time.Minute)
	if st.GetState() != wire.JobState_JOB_SUCCEEDED || st.GetResultJson() != healthyResult {
		t.Fatalf("the healthy job beside the attack: %s %q %s", st.GetState(), st.GetResultJson(), st.GetError())
	}
	s.noSecrets("the node's log", s.c.Log(s.c.Nodes[0]))
}
