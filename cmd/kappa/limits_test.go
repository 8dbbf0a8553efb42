package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kappa-serverless/kappa/node/nodetest"
)

// bigResult returns a string of event["n"] characters (n+2 bytes of JSON).
const bigResult = `
def handler(event, context):
    return "x" * event["n"]
`

// bigValues passes a value over the inline value limit to a child and
// through a queue; the worker sends both by key.
const bigValues = `
from kappa import create_queue, spawn

def child(s):
    return len(s)

def handler(event, context):
    big = "v" * event["n"]
    q = create_queue(1)
    q.enqueue(big)
    return spawn(child, (big,)).wait() + len(q.dequeue())
`

// programDir writes a directory program (main.py returning 1) with the
// given extra files.
func programDir(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	files["main.py"] = []byte("def handler(event, context):\n    return 1\n")
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Every limit flag of `kappa server` (docs/operations.md, "Limits and
// quotas") sets its limit: lowered on a real server, each is met by a
// small input, refused naming the flag and the value given, or (inline
// limits) makes values travel by key without the program noticing.
func TestLimitFlagsSetTheLimits(t *testing.T) {
	api := startServer(t, "--max-request-bytes", "1MiB", "--max-event-bytes", "8KiB",
		"--max-inline-result-bytes", "4KiB", "--max-result-bytes", "64KiB", "--max-inline-value-bytes", "2KiB",
		"--max-bundle-bytes", "1MiB", "--max-bundle-files", "5", "--max-entry-bytes", "256KiB")
	run := func(prog, event string) result {
		return kappa(t, "run", "--cluster", api, prog, "--event", "@"+nodetest.WriteFile(t, "event.json", event))
	}
	refused := func(what string, r result, want string) {
		t.Helper()
		if r.code == 0 || !strings.Contains(r.stderr, want) {
			t.Errorf("%s: exit %d, stderr does not say %q:\n%s", what, r.code, want, r.stderr)
		}
	}
	results := nodetest.WriteFile(t, "big.py", bigResult)

	refused("a 9 KiB event", run(results, fmt.Sprintf(`{"n": 1, "pad": %q}`, strings.Repeat("p", 9<<10))),
		"the limit is 8KiB (kappa server --max-event-bytes)")
	refused("a 2 MiB request", run(results, fmt.Sprintf(`{"n": 1, "pad": %q}`, strings.Repeat("p", 2<<20))),
		"kappa server --max-request-bytes")

	// Over the inline result limit: stored by key, printed whole.
	if r := run(results, `{"n": 10000}`); r.code != 0 || strings.TrimSpace(r.stdout) != `"`+strings.Repeat("x", 10000)+`"` {
		t.Errorf("a 10 KB result: exit %d, %d bytes out\n%s", r.code, len(r.stdout), r.stderr)
	}
	refused("a 70 KB result", run(results, `{"n": 70000}`),
		fmt.Sprintf("the job's result is %d bytes of JSON; the limit is %d (kappa server --max-result-bytes)", 70002, 64<<10))

	// Over the inline value limit: the values go by key.
	if r := run(nodetest.WriteFile(t, "values.py", bigValues), `{"n": 8000}`); r.code != 0 || strings.TrimSpace(r.stdout) != "16000" {
		t.Errorf("values over --max-inline-value-bytes: exit %d %q\n%s", r.code, r.stdout, r.stderr)
	}

	// Bundles: 2 MiB of zeros unpacked (a few KB packed), and too many files.
	refused("a bundle over 1 MiB unpacked", kappa(t, "run", "--cluster", api, programDir(t, map[string][]byte{"zeros.bin": make([]byte, 2<<20)})),
		"the limit of 1MiB (kappa server --max-bundle-bytes)")
	many := map[string][]byte{}
	for i := range 6 {
		many[fmt.Sprintf("m%d.py", i)] = []byte("X = 1\n")
	}
	refused("a bundle of 7 files", kappa(t, "run", "--cluster", api, programDir(t, many)),
		"the limit is 5 files (kappa server --max-bundle-files)")
}

// Limits that cannot work together, or are not sizes, stop the server
// before it starts, naming the flags — given on the command line, in the
// environment or in a --config file.
func TestLimitFlagsThatCannotWorkAreRefused(t *testing.T) {
	config := nodetest.WriteFile(t, "kappa.yaml", "max-entry-bytes: 8KiB\n")
	keys := filepath.Join(t.TempDir(), "cluster.keys")
	nodetest.KeyFile(t, keys)
	for _, c := range []struct {
		env, flags []string
		want       string
	}{
		{nil, []string{"--max-entry-bytes", "8KiB"}, "--max-entry-bytes (8KiB) must exceed --max-event-bytes (1MiB)"},
		{[]string{"KAPPA_MAX_ENTRY_BYTES=8KiB"}, nil, "--max-entry-bytes (8KiB) must exceed --max-event-bytes (1MiB)"},
		{nil, []string{"--config", config}, "--max-entry-bytes (8KiB) must exceed --max-event-bytes (1MiB)"},
		{nil, []string{"--max-inline-result-bytes", "2MiB", "--max-result-bytes", "1MiB", "--max-entry-bytes", "8MiB"},
			"--max-inline-result-bytes must not exceed --max-result-bytes"},
		{nil, []string{"--max-event-bytes", "1x"}, `"1x" is not a positive byte count`},
	} {
		args := append([]string{"server", "--insecure", "--bootstrap", "--node-id", "n1", "--data-dir", t.TempDir(),
			"--raft-addr", "127.0.0.1:0", "--api-addr", "127.0.0.1:0", "--cluster-key-file", keys}, c.flags...)
		if r := kappaEnv(t, c.env, args...); r.code == 0 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v %v: exit %d, stderr does not say %q:\n%s", c.env, c.flags, r.code, c.want, r.stderr)
		}
	}
}
