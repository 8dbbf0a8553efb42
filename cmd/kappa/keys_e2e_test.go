package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/node/nodetest"
	"github.com/kappa-serverless/kappa/node/proccluster"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// A job whose root waits for a child that checkpoints until a flag file
// appears: its root's pointer is sealed once, before the wait, and stays.
const waitForFlagProgram = `
import os, time
from kappa import spawn, checkpoint

def wait_for(path):
    rounds = 0
    while not os.path.exists(path):
        checkpoint()
        rounds += 1
        time.sleep(0.1)
    return rounds

def handler(event, context):
    f = spawn(wait_for, (event["flag"],))
    return f.wait() > 0
`

// sealedWith lists the key ids that sealed a task's checkpoints in a
// directory store, by key.
func sealedWith(t *testing.T, storeDir string, job, task uint64) map[string]string {
	t.Helper()
	out := map[string]string{}
	dir := filepath.Join(storeDir, filepath.FromSlash(checkpoint.TaskPrefix(job, task)))
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".ckpt") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // collected meanwhile
		}
		if h, err := checkpoint.PeekHeader(data); err == nil {
			out[checkpoint.TaskPrefix(job, task)+e.Name()] = h.Kid
		}
	}
	return out
}

// rootWaitSealedWith is the key id of the checkpoint a root writes before
// its wait (its second call), "" while there is none.
func rootWaitSealedWith(t *testing.T, storeDir string, job uint64) string {
	for key, kid := range sealedWith(t, storeDir, job, 1) {
		if strings.HasSuffix(key, "-s2.ckpt") {
			return kid
		}
	}
	return ""
}

func countKid(m map[string]string, kid string) (n int) {
	for _, k := range m {
		if k == kid {
			n++
		}
	}
	return n
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to+".tmp", data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(to+".tmp", to); err != nil {
		t.Fatal(err)
	}
}

// The rotation procedure of docs/security.md, on three real nodes with
// a key file each: a rotation is refused while one voter's file lacks the
// new key (naming it); blobs sealed before the rotation still verify after
// it; once the old key id is removed from every file, a blob it sealed
// fails loudly, naming the key id; and nodes with the wrong key file are
// refused at join and at start.
func TestKeyRotationProcedure(t *testing.T) {
	dir := t.TempDir()
	first := filepath.Join(dir, "first.keys")
	if r := kappa(t, "keys", "generate", first); r.code != 0 || !strings.Contains(r.stdout, "key id k1") {
		t.Fatalf("keys generate: %+v", r)
	}
	files := make([]string, 3)
	for i := range files {
		files[i] = filepath.Join(dir, fmt.Sprintf("n%d.keys", i+1))
		copyFile(t, first, files[i])
	}
	storeDir := filepath.Join(dir, "store")
	c, err := proccluster.Start(proccluster.Options{Binary: nodetest.KappaBinary(t), Dir: dir, Nodes: 3,
		Addrs: func(i int) (string, string, []string, error) {
			raft, err := proccluster.FreeAddr("127.0.0.1")
			if err != nil {
				return "", "", nil, err
			}
			api, err := proccluster.FreeAddr("127.0.0.1")
			return raft, api, []string{"--cluster-key-file", files[i]}, err
		},
		ServerArgs: []string{"--lambda-timeout", "3s", "--log-level", "info"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(5 * time.Second)
	defer func() {
		if t.Failed() {
			for _, n := range c.Nodes {
				t.Logf("%s log:\n%s", n.ID, tail(c.Log(n), 3000))
			}
			out, _ := exec.Command("find", storeDir).Output()
			t.Logf("store:\n%s", out)
		}
	}()
	t.Setenv("KAPPA_CERTS_DIR", c.CertsDir())
	cluster := strings.Join(c.Addrs(), ",")
	flag1, flag2 := filepath.Join(dir, "flag1"), filepath.Join(dir, "flag2")
	j1 := nodetest.Submit(t, c.Client(), waitForFlagProgram, fmt.Sprintf(`{"flag": %q}`, flag1), "across", 0)
	j2 := nodetest.Submit(t, c.Client(), waitForFlagProgram, fmt.Sprintf(`{"flag": %q}`, flag2), "orphaned", 0)
	for _, j := range []uint64{j1, j2} {
		nodetest.Eventually(t, time.Minute, fmt.Sprintf("j%d's root waiting and its child checkpointing", j), func() bool {
			return rootWaitSealedWith(t, storeDir, j) == "k1" && countKid(sealedWith(t, storeDir, j, 2), "k1") >= 1
		})
	}

	// The new key on two of three nodes: refused, naming the third.
	if r := kappa(t, "keys", "add", files[0], "--id", "k2"); r.code != 0 || !strings.Contains(r.stdout, "it holds k1, k2") {
		t.Fatalf("keys add: %+v", r)
	}
	copyFile(t, files[0], files[1])
	r := kappa(t, "keys", "rotate", "--to", "k2", "--cluster", cluster)
	if r.code == 0 || !strings.Contains(r.stderr, `node n3's cluster key file lacks key id "k2" (it holds k1)`) {
		t.Fatalf("rotating before n3 has the key: %+v", r)
	}
	if r := kappa(t, "keys", "status", "--cluster", cluster); r.code != 0 || strings.Count(r.stdout, "k2 (") != 2 || strings.Count(r.stdout, "k1 (") != 3 {
		t.Fatalf("keys status: %+v", r)
	}
	copyFile(t, files[0], files[2])
	if r := kappa(t, "keys", "rotate", "--to", "k2", "--cluster", cluster); r.code != 0 || !strings.Contains(r.stdout, "current key id is now k2 (was k1)") {
		t.Fatalf("rotate: %+v", r)
	}

	// New blobs are sealed with k2; j1's root still resumes from the
	// checkpoint k1 sealed before the rotation.
	for _, j := range []uint64{j1, j2} {
		nodetest.Eventually(t, time.Minute, fmt.Sprintf("j%d's child sealing with k2", j), func() bool {
			return countKid(sealedWith(t, storeDir, j, 2), "k2") >= 2
		})
	}
	if root := sealedWith(t, storeDir, j1, 1); countKid(root, "k2") != 0 || rootWaitSealedWith(t, storeDir, j1) != "k1" {
		t.Fatalf("j%d's root wrote after the rotation while it waited: %v", j1, root)
	}
	os.WriteFile(flag1, nil, 0o600)
	if st := nodetest.WaitJob(t, c.Client(), j1, time.Minute); st.GetState() != wire.JobState_JOB_SUCCEEDED || st.GetResultJson() != "true" {
		t.Fatalf("the job that crossed the rotation: %v", st)
	}

	// The documented last step: k1 leaves every file. A blob it sealed
	// (j2's root's pointer) then fails loudly, naming k1.
	for _, f := range files {
		if r := kappa(t, "keys", "remove", f, "--id", "k1"); r.code != 0 || !strings.Contains(r.stdout, "it holds k2") {
			t.Fatalf("keys remove: %+v", r)
		}
	}
	if r := kappa(t, "keys", "status", "--cluster", cluster); r.code != 0 || strings.Contains(r.stdout, "k1 (") {
		t.Fatalf("keys status after removing k1: %+v", r)
	}
	os.WriteFile(flag2, nil, 0o600)
	st := nodetest.WaitJob(t, c.Client(), j2, time.Minute)
	if st.GetState() != wire.JobState_JOB_FAILED || !strings.Contains(st.GetError(), `sealed with key id 'k1', which is not among this job's keys (k2)`) {
		t.Fatalf("a blob sealed with a removed key id: %v", st)
	}

	// A node with the old file cannot join; one with another k2 cannot start.
	n4Certs, err := c.IssueNode("n4")
	if err != nil {
		t.Fatal(err)
	}
	join := kappa(t, "server", "--node-id", "n4", "--data-dir", filepath.Join(dir, "n4"), "--cluster-key-file", first, "--certs-dir", n4Certs, "--store", c.Store(),
		"--raft-addr", freeAddr(t), "--api-addr", freeAddr(t), "--join", c.Nodes[0].APIAddr, "--join-timeout", "20s")
	if join.code == 0 || !strings.Contains(join.stderr, `node "n4" cannot join: its cluster key file lacks the cluster's current key id "k2"`) {
		t.Fatalf("joining with an old key file: %+v", join)
	}
	n3 := c.Nodes[2]
	c.Kill(n3)
	other := filepath.Join(dir, "other.keys")
	if r := kappa(t, "keys", "generate", other, "--id", "k2"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	n3Certs, err := c.IssueNode(n3.ID) // the certs dir it already has
	if err != nil {
		t.Fatal(err)
	}
	start := kappa(t, "server", "--node-id", n3.ID, "--data-dir", n3.DataDir, "--cluster-key-file", other, "--certs-dir", n3Certs, "--store", c.Store(),
		"--raft-addr", n3.RaftAddr, "--api-addr", n3.APIAddr)
	if start.code == 0 || !strings.Contains(start.stderr, `holds another key for key id "k2" than the cluster`) {
		t.Fatalf("starting with another key under k2: %+v", start)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
