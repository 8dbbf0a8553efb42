package proccluster

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The command lines the launcher builds: the first node bootstraps, the
// others join it, per-node flags come before the shared ones (a node's own
// key file replaces the shared one), Command
// wraps them, and a wiped node joins instead of bootstrapping a second
// cluster. (Running processes is shown by the tests of dev-cluster, the CLI
// and the Jepsen-style harness.)
func TestCommandLines(t *testing.T) {
	dir := t.TempDir()
	c := &Cluster{opts: Options{Binary: "/bin/kappa", Dir: dir, Lambda: "http://127.0.0.1:9", ServerArgs: []string{"--log-level", "warn"}, KeyFile: "/keys",
		Command: func(i int, bin string, args []string) (string, []string) {
			return "/nonexistent/ip", append([]string{"netns", "exec", "ns" + string(rune('1'+i)), bin}, args...)
		}}, store: "file:///s"}
	for i, id := range []string{"n1", "n2"} {
		n := &Node{Index: i, ID: id, RaftAddr: "r" + id, APIAddr: "a" + id, DataDir: filepath.Join(dir, id), proc: c.process(id, "", nil)}
		if i > 0 {
			n.join = c.Nodes[0].APIAddr
		}
		c.Nodes = append(c.Nodes, n)
	}
	c.Nodes[1].extra = []string{"--test-raft-advertise", "proxy:1", "--cluster-key-file", "/n2.keys"}
	want := map[string]string{
		"n1": "server --node-id n1 --data-dir " + filepath.Join(dir, "n1") + " --raft-addr rn1 --api-addr an1 --store file:///s --cluster-key-file /keys --lambda http://127.0.0.1:9 --insecure --bootstrap --log-level warn",
		"n2": "server --node-id n2 --data-dir " + filepath.Join(dir, "n2") + " --raft-addr rn2 --api-addr an2 --store file:///s --lambda http://127.0.0.1:9 --insecure --join an1 --test-raft-advertise proxy:1 --cluster-key-file /n2.keys --log-level warn",
	}
	for _, n := range c.Nodes {
		if got := strings.Join(c.serverArgs(n), " "); got != want[n.ID] {
			t.Errorf("%s:\n got %s\nwant %s", n.ID, got, want[n.ID])
		}
	}
	if err := os.MkdirAll(c.Nodes[0].DataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := c.Wipe(c.Nodes[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.Nodes[0].DataDir); !os.IsNotExist(err) {
		t.Errorf("the wiped node's data dir is still there: %v", err)
	}
	args := c.serverArgs(c.Nodes[0])
	if slices.Contains(args, "--bootstrap") || !strings.Contains(strings.Join(args, " "), "--join an2") {
		t.Errorf("a wiped node must join, not bootstrap: %v", args)
	}
	c.Nodes[1].alone = []string{"--force-new-cluster"}
	if args := strings.Join(c.serverArgs(c.Nodes[1]), " "); !strings.Contains(args, "--force-new-cluster") || strings.Contains(args, "--join") {
		t.Errorf("a node started alone has no --join: %s", args)
	}
	c.Nodes[1].alone = nil
	// startNode runs the wrapped command line; a binary that does not
	// exist is an error naming the node.
	err := c.startNode(c.Nodes[1])
	if err == nil || !strings.Contains(err.Error(), "n2") {
		t.Fatalf("starting a missing binary: %v", err)
	}
	if p := c.Nodes[1].proc; p.bin != "/nonexistent/ip" || p.args[0] != "netns" || p.args[3] != "/bin/kappa" || p.args[4] != "server" {
		t.Errorf("Command did not wrap the command line: %s %v", p.bin, p.args)
	}
}
