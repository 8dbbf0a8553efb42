package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/node/nodetest"
)

// These tests run the real kappa binary the way the README does.

func TestMain(m *testing.M) {
	code := m.Run()
	nodetest.RemoveKappaBinary()
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

func kappa(t *testing.T, args ...string) result {
	t.Helper()
	return kappaEnv(t, nil, args...)
}

// kappaEnv runs kappa with env (NAME=value) added to this process's.
func kappaEnv(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(nodetest.KappaBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

func example(name string) string { return filepath.Join("..", "..", "examples", name) }

// The README's first command.
func TestFactorialExampleWithOneSecondLambdas(t *testing.T) {
	r := kappa(t, "run", example("factorial.py"), "--lambda-timeout", "1s")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	checkFactorialRun(t, r.stdout, r.stderr)
}

// checkFactorialRun checks what the README's first command prints: the
// result (stdout's last line) and a task that crossed at least five epochs.
func checkFactorialRun(t *testing.T, stdout, stderr string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var got struct {
		N    int64  `json:"n"`
		Bits int    `json:"bits"`
		Mod  uint64 `json:"mod_1e9_7"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
		t.Fatalf("stdout does not end with the JSON result: %q", stdout)
	}
	f := new(big.Int).MulRange(1, got.N)
	mod := new(big.Int).Mod(f, big.NewInt(1_000_000_007)).Uint64()
	if got.N != 150000 || got.Bits != f.BitLen() || got.Mod != mod {
		t.Fatalf("result %+v, want bits %d mod %d", got, f.BitLen(), mod)
	}
	// The progress shows the task crossing at least five epochs.
	m := regexp.MustCompile(`succeeded .*epoch ≤(\d+)`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no final progress line:\n%s", stderr)
	}
	if epochs, _ := strconv.Atoi(m[1]); epochs < 5 {
		t.Fatalf("the task crossed %d epochs, want at least 5:\n%s", epochs, stderr)
	}
}

func TestFibExample(t *testing.T) {
	// The event from a file, as a large one must come (a command line
	// holds at most 128 KiB per argument).
	r := kappa(t, "run", example("fib.py"), "--event", "@"+nodetest.WriteFile(t, "event.json", `{"n": 12}`))
	if r.code != 0 || strings.TrimSpace(r.stdout) != "144" {
		t.Fatalf("exit %d, stdout %q\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "tasks 465:") {
		t.Fatalf("fib(12) should run 465 tasks:\n%s", r.stderr)
	}
}

func TestWordcountExample(t *testing.T) {
	r := kappa(t, "run", example("wordcount.py"), "--event", `{"chunks": 4, "words": 5000}`)
	var got struct {
		Words      int `json:"words"`
		ChunksDone int `json:"chunks_done"`
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &got) != nil || got.Words != 20000 || got.ChunksDone != 4 {
		t.Fatalf("exit %d, stdout %q\n%s", r.code, r.stdout, r.stderr)
	}
}

// The embedded default writes its Raft log as a WAL unless told Bolt, and
// a kept data dir keeps the format it was made with, whatever the flag.
func TestRunRaftLogFormat(t *testing.T) {
	fib := func(dir string, extra ...string) {
		t.Helper()
		r := kappa(t, append([]string{"run", example("fib.py"), "--event", `{"n": 5}`, "--data-dir", dir}, extra...)...)
		if r.code != 0 || strings.TrimSpace(r.stdout) != "5" {
			t.Fatalf("exit %d, stdout %q\n%s", r.code, r.stdout, r.stderr)
		}
	}
	hasWAL := func(dir string) bool {
		_, err := os.Stat(filepath.Join(dir, "node", "raft", "wal"))
		return err == nil
	}
	walDir, boltDir := t.TempDir(), t.TempDir()
	fib(walDir)
	fib(boltDir, "--raft-log-format", "bolt")
	if !hasWAL(walDir) || hasWAL(boltDir) {
		t.Fatalf("default run has a WAL: %v, --raft-log-format bolt has one: %v", hasWAL(walDir), hasWAL(boltDir))
	}
	fib(boltDir) // the default flag on a Bolt data dir: still Bolt
	if hasWAL(boltDir) {
		t.Fatal("a kept Bolt data dir was switched to the WAL")
	}
}

// pythonWithoutKappa is python3 without site-packages or PYTHONPATH: an
// interpreter on which kappa was never installed.
func pythonWithoutKappa(t *testing.T) string {
	p := nodetest.WriteFile(t, "python-without-kappa", "#!/bin/sh\nexec python3 -S -I \"$@\"\n")
	if err := os.Chmod(p, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBadInputIsOneClearLine(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"event not JSON", []string{"run", example("fib.py"), "--event", "{n:1}"},
			"--event: the event is not valid JSON: invalid character 'n' looking for beginning of object key string at line 1, column 2"},
		{"event file missing", []string{"run", example("fib.py"), "--event", "@/nonexistent/event.json"}, "--event @/nonexistent/event.json: open /nonexistent/event.json: no such file"},
		{"missing file", []string{"run", "nope.py"}, "program nope.py does not exist"},
		{"syntax error", []string{"run", nodetest.WriteFile(t, "syn.py", "def handler(e, c):\n    x = (1,\n")}, "syn.py:2:9: syntax error"},
		{"unsupported construct", []string{"run", nodetest.WriteFile(t, "aio.py",
			"from kappa import checkpoint\nasync def work():\n    checkpoint()\ndef handler(e, c):\n    return 1\n")},
			"aio.py:2:1: unsupported construct"},
		{"missing entry", []string{"run", nodetest.WriteFile(t, "noentry.py", "def main():\n    return 1\n")}, "no entry function: define handler(event, context)"},
		{"bad flag", []string{"run", example("fib.py"), "--lambda-timeout", "soon"}, "invalid argument"},
		{"unknown log format", []string{"run", example("fib.py"), "--raft-log-format", "sqlite"},
			`unknown Raft log format "sqlite" (--raft-log-format takes bolt or wal)`},
	}
	for _, c := range cases {
		r := kappa(t, c.args...)
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if r.code != 2 || len(lines) != 1 || !strings.Contains(lines[0], c.want) {
			t.Errorf("%s: exit %d, stderr %q; want one line containing %q", c.name, r.code, r.stderr, c.want)
		}
	}
}

func TestFailingProgramShowsUserTraceback(t *testing.T) {
	p := nodetest.WriteFile(t, "boom.py", `from kappa import checkpoint

def divide(x):
    checkpoint()
    return 10 // x

def handler(event, context):
    return divide(event["x"])
`)
	r := kappa(t, "run", p, "--event", `{"x": 0}`)
	if r.code != 1 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{`File "boom.py", line 8, in handler`, `File "boom.py", line 5, in divide`, "ZeroDivisionError"} {
		if !strings.Contains(r.stderr, want) {
			t.Fatalf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "kappa/runtime") || strings.Contains(r.stderr, "__k_") {
		t.Fatalf("the traceback shows Kappa's internals:\n%s", r.stderr)
	}
}

func TestCompilePrintsTransformedSource(t *testing.T) {
	r := kappa(t, "compile", example("fib.py"))
	if r.code != 0 || !strings.Contains(r.stdout, "def fib(n):") || !strings.Contains(r.stdout, "Capture") {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// readmeSubmatch is the first match of pattern in README.md; what names
// it in the failure when there is none.
func readmeSubmatch(t *testing.T, pattern, what string) [][]byte {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(pattern).FindSubmatch(readme)
	if m == nil {
		t.Fatalf("README.md has no %s", what)
	}
	return m
}

// The program in the README runs as shown.
func TestReadmeProgram(t *testing.T) {
	m := readmeSubmatch(t, "(?s)```python\n(.*?)```", "a python block")
	r := kappa(t, "run", nodetest.WriteFile(t, "readme.py", string(m[1])), "--event", `{"n": 5}`)
	if r.code != 0 || strings.TrimSpace(r.stdout) != "30" {
		t.Fatalf("exit %d, stdout %q\n%s", r.code, r.stdout, r.stderr)
	}
}

// devCluster runs `kappa dev-cluster` in dir until stop is called, and
// returns the environment its printed export line sets.
func devCluster(t *testing.T, dir string, base int) (env []string, stop func() string) {
	dev := exec.Command(nodetest.KappaBinary(t), "dev-cluster", "--nodes", "3", "--dir", dir, "--base-port", strconv.Itoa(base), "--lambda-timeout", "5s", "--metrics")
	var out nodetest.Output
	dev.Stdout, dev.Stderr = &out, &out
	if err := dev.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop = func() string {
		if !stopped {
			dev.Process.Signal(os.Interrupt)
			dev.Wait()
			stopped = true
		}
		return out.String()
	}
	t.Cleanup(func() { stop() })
	export := regexp.MustCompile(`(?m)^export (KAPPA_CLUSTER=\S+) (KAPPA_CERTS_DIR=\S+)$`)
	for range 600 {
		if m := export.FindStringSubmatch(out.String()); m != nil {
			return m[1:], stop
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("dev-cluster printed no export line:\n%s", stop())
	return nil, nil
}

// waitMembers waits until the cluster lists three voters and a leader.
func waitMembers(t *testing.T, env []string, stop func() string) {
	t.Helper()
	var r result
	for i := 0; i < 100; i++ {
		if r = kappaEnv(t, env, "cluster", "members"); r.code == 0 && strings.Count(r.stdout, "true") == 3 && strings.Contains(r.stdout, "leader") {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("members:\n%s\n%s\ndev-cluster:\n%s", r.stdout, r.stderr, stop())
}

// The README's cluster drill: dev-cluster, its export line, members, a
// run, a leader transfer, status, jobs — as an operator would paste them;
// then a second dev-cluster in the same dir resumes the cluster. The
// cluster is secure: without the printed certs dir nothing gets in.
func TestDevClusterDrill(t *testing.T) {
	dir := t.TempDir()
	base := 20000 + os.Getpid()%20000
	env, stop := devCluster(t, dir, base)
	cluster := fmt.Sprintf("127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d", base+1, base+2, base+3)
	if env[0] != "KAPPA_CLUSTER="+cluster {
		t.Fatalf("dev-cluster exports %s, want KAPPA_CLUSTER=%s", env[0], cluster)
	}
	waitMembers(t, env, stop)
	if r := kappaEnv(t, env, "run", example("fib.py"), "--event", `{"n": 6}`); r.code != 0 || strings.TrimSpace(r.stdout) != "8" {
		t.Fatalf("run: exit %d %q\n%s", r.code, r.stdout, r.stderr)
	}
	if r := kappaEnv(t, env, "cluster", "transfer-leader", "--to", "n2"); r.code != 0 || !strings.Contains(r.stdout, "leader is now n2") {
		t.Fatalf("transfer: %+v", r)
	}
	if r := kappaEnv(t, env, "status"); r.code != 0 || strings.Count(r.stdout, "n2") < 3 || strings.Contains(r.stdout, "INSECURE") {
		t.Fatalf("status: %+v", r)
	}
	if r := kappaEnv(t, env, "jobs", "show", "j1"); r.code != 0 || !strings.Contains(r.stdout, "succeeded") {
		t.Fatalf("jobs show: %+v", r)
	}
	if r := kappaEnv(t, env, "jobs", "cancel", "j1"); r.code != exitFinished || !strings.Contains(r.stderr, "already finished") {
		t.Fatalf("cancelling a finished job: %+v", r)
	}
	// --metrics gave every node a health port, anonymous over TLS.
	ca, err := os.ReadFile(filepath.Join(strings.TrimPrefix(env[1], "KAPPA_CERTS_DIR="), "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	https := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for i := 1; i <= 3; i++ {
		resp, err := https.Get(fmt.Sprintf("https://127.0.0.1:%d/readyz", base+200+i))
		if err != nil {
			t.Fatalf("/readyz of n%d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"leader_id":"n2"`) {
			t.Fatalf("/readyz of n%d: %d %s", i, resp.StatusCode, body)
		}
	}
	// Without the certs dir: a usage error naming the fix; in plaintext:
	// the nodes do not answer.
	if r := kappaEnv(t, []string{env[0], "KAPPA_CERTS_DIR="}, "status"); r.code != 2 || !strings.Contains(r.stderr, "KAPPA_CERTS_DIR") {
		t.Fatalf("status without certificates: %+v", r)
	}
	if r := kappaEnv(t, []string{env[0], "KAPPA_CERTS_DIR="}, "cluster", "members", "--insecure", "--timeout", "3s"); r.code == 0 {
		t.Fatalf("a plaintext client was served: %+v", r)
	}
	stop()
	env, stop = devCluster(t, dir, base)
	waitMembers(t, env, stop)
	if r := kappaEnv(t, env, "jobs", "show", "j1"); r.code != 0 || !strings.Contains(r.stdout, "succeeded") {
		t.Fatalf("jobs show after the dev cluster restarted: %+v\ndev-cluster:\n%s", r, stop())
	}
}
