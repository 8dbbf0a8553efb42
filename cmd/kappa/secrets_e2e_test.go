package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kappa-serverless/kappa/checkpoint/redistest"
	"github.com/kappa-serverless/kappa/node/nodetest"
	"github.com/kappa-serverless/kappa/node/proccluster"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// spyProgram is what a hostile job does to find credentials: it digs the
// invocation payload (the worker's Spec) out of the worker's memory, and
// reads its own environment and command line.
const spyProgram = `
import gc, os
from kappa import spawn

def peek():
    from kappa.worker.task import Spec
    stores = [o.store for o in gc.get_objects() if isinstance(o, Spec)]
    return {"stores": stores, "env": dict(os.environ),
            "cmdline": open("/proc/self/cmdline", "rb").read().decode(errors="replace")}

def handler(event, context):
    return spawn(peek, ()).wait()
`

func writeSecret(t *testing.T, name, secret string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A cluster on a password-protected Redis, its workers on a Redis user of
// their own: a job runs through that user, and the nodes' password shows
// nowhere a job or another user of the machine can look: not in the
// nodes' or lambda-local's logs, not on any command line (ps), not in an
// invocation payload nor a worker's environment.
func TestTheStorePasswordStaysWithTheNodes(t *testing.T) {
	const nodePassword, workerPassword = "n0de-Pa55-8d2f1c", "w0rker-Pa55-51e9a0"
	srv := redistest.StartWithPassword(t, nodePassword)
	if err := srv.AddWorkerUser(nodePassword, workerPassword); err != nil {
		t.Fatalf("creating the workers' Redis user: %v", err)
	}
	doc, _ := os.ReadFile(filepath.Join("..", "..", "docs", "security.md"))
	if !strings.Contains(string(doc), redistest.WorkerACL) {
		t.Errorf("docs/security.md does not give the workers' ACL as this test makes it:\n%s", redistest.WorkerACL)
	}

	dir := t.TempDir()
	c, err := proccluster.Start(proccluster.Options{Binary: nodetest.KappaBinary(t), Dir: dir, Nodes: 3, Store: srv.URL(),
		LambdaLocal: proccluster.LambdaLocal{Addr: freeAddr(t)},
		ServerArgs: []string{"--log-level", "debug", "--store-password-file", writeSecret(t, "node.pw", nodePassword),
			"--worker-store-url", "redis://kappa-worker@" + srv.Addr + "/0",
			"--worker-store-password-file", writeSecret(t, "worker.pw", workerPassword)}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(5 * time.Second)

	job := nodetest.Submit(t, c.Client(), spyProgram, "{}", "spy", 0)
	st := nodetest.WaitJob(t, c.Client(), job, 2*time.Minute)
	if st.GetState() != wire.JobState_JOB_SUCCEEDED {
		t.Fatalf("the job: %v", st)
	}
	var seen struct {
		Stores  []string          `json:"stores"`
		Env     map[string]string `json:"env"`
		Cmdline string            `json:"cmdline"`
	}
	if err := json.Unmarshal([]byte(st.GetResultJson()), &seen); err != nil {
		t.Fatal(err)
	}
	if len(seen.Stores) == 0 {
		t.Fatal("the job found no invocation payload to look into")
	}
	for _, s := range seen.Stores {
		if s != fmt.Sprintf("redis://kappa-worker:%s@%s/0", workerPassword, srv.Addr) {
			t.Errorf("a payload's store URL is %q: want the workers' own user", s)
		}
	}
	// The workers did reach Redis as their own user.
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr, Password: nodePassword})
	defer admin.Close()
	clients, _ := admin.ClientList(context.Background()).Result()
	if !strings.Contains(clients, "user=kappa-worker") {
		t.Errorf("no Redis connection of the workers' user:\n%s", clients)
	}

	ps, err := exec.Command("ps", "-eo", "args").Output()
	if err != nil {
		t.Fatal(err)
	}
	env, _ := json.Marshal(seen.Env)
	places := map[string]string{"ps": string(ps), "a worker's environment": string(env), "a worker's command line": seen.Cmdline,
		"lambda-local's log": readLog(t, c.LambdaLocal().LogPath())}
	for _, n := range c.Nodes {
		places[n.ID+"'s log"] = c.Log(n)
	}
	for where, text := range places {
		if strings.Contains(text, nodePassword) {
			t.Errorf("the nodes' store password shows in %s", where)
		}
	}
	if strings.Contains(string(ps), workerPassword) {
		t.Error("the workers' store password shows in ps")
	}
	// What the logs do show: the URLs, redacted.
	if log := c.Log(c.Nodes[0]); !strings.Contains(log, "store=redis://:***@"+srv.Addr+"/0") ||
		!strings.Contains(log, "worker_store=redis://kappa-worker:***@"+srv.Addr+"/0") {
		t.Errorf("n1's log does not name the stores (redacted):\n%s", log)
	}
}

func readLog(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Secrets that would leak are refused at start, each in one line naming
// the fix (after a warning, for a password given on the command line).
func TestExposedStoreSecretsAreRefused(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "cluster.keys")
	if r := kappa(t, "keys", "generate", keys); r.code != 0 {
		t.Fatal(r.stderr)
	}
	base := []string{"server", "--node-id", "n1", "--data-dir", filepath.Join(dir, "n1"), "--bootstrap", "--cluster-key-file", keys,
		"--raft-addr", "127.0.0.1:0", "--api-addr", "127.0.0.1:0", "--insecure"}
	open := writeSecret(t, "open.pw", "s3cret")
	os.Chmod(open, 0o644)
	conf := filepath.Join(dir, "kappa.yaml")
	os.WriteFile(conf, []byte("store: redis://:s3cret@127.0.0.1:1/0\n"), 0o644)
	openKeys := filepath.Join(dir, "open.keys")
	if r := kappa(t, "keys", "generate", openKeys); r.code != 0 {
		t.Fatal(r.stderr)
	}
	os.Chmod(openKeys, 0o640)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--store", "redis://:s3cret@127.0.0.1:1/0"}, "workers (user code) must not get the nodes' credential"},
		{[]string{"--store", "redis://127.0.0.1:1/0", "--store-password-file", open}, "has mode 0644: it holds a secret, so only its owner may read it (chmod 600 " + open + ")"},
		{[]string{"--config", conf}, "config file " + conf + " has mode 0644"},
		{[]string{"--store", "redis://:s3cret@127.0.0.1:1/0", "--worker-store-url", "redis://:s3cret@127.0.0.1:1/0"}, "gives workers the nodes' own store credential"},
		{[]string{"--cluster-key-file", openKeys}, "cluster key file " + openKeys + " has mode 0640"},
	} {
		r := kappa(t, append(base, c.args...)...)
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if r.code != 2 || !strings.Contains(lines[len(lines)-1], c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %q", c.args, r.code, r.stderr, c.want)
		}
		if strings.Contains(r.stderr, "s3cret") {
			t.Errorf("%v: the error shows the password: %s", c.args, r.stderr)
		}
	}
}
