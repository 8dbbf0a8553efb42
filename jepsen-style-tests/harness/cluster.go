// Package harness starts and attacks real Kappa clusters: every node is a
// `kappa server` process with its own data dir on its own 127.0.0.x
// address, the lambdas run in a separate `kappa lambda-local` process (so
// killing a node does not kill them), and the checkpoint store is a
// directory they share. Tests kill, pause, restart and wipe nodes and read
// every replica's state through the client API.
package harness

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/transport/kappaclient"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// Options shape a cluster.
type Options struct {
	Nodes         int
	LambdaTimeout time.Duration
	Concurrency   int
	// ExtraServerArgs are appended to every `kappa server` command line.
	ExtraServerArgs []string
	// PinWorkers, when > 0, hands every lambda only the API address of
	// node number PinWorkers (1-based), to prove forwarding.
	PinWorkers int
	// Store is the checkpoint store URL (e.g. a Redis from StartRedis);
	// empty means a directory under the cluster's dir.
	Store string
	// Net places the nodes in a fault-injecting network (NewNetNS or
	// NewProxy); nil: plain loopback addresses, no network faults.
	Net Network
}

// Cluster is a running set of processes.
type Cluster struct {
	t       testing.TB
	bin     string
	dir     string
	store   string
	lambda  *Process
	lambdaA string
	Nodes   []*Node
	client  *kappaclient.Client
	opts    Options
}

// Node is one `kappa server`.
type Node struct {
	Index    int // 0-based, as the Network counts nodes
	ID       string
	RaftAddr string
	APIAddr  string
	DataDir  string
	proc     *Process
	joinAddr string
	extra    []string // server flags the network needs
}

// Start builds nothing (see Binary) and starts opts.Nodes servers: the
// first bootstraps, the others join it. It registers cleanup with t.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if opts.Nodes == 0 {
		opts.Nodes = 3
	}
	if opts.LambdaTimeout == 0 {
		opts.LambdaTimeout = 5 * time.Second
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = 16
	}
	dir := t.TempDir()
	c := &Cluster{t: t, bin: Binary(t), dir: dir, store: opts.Store, opts: opts}
	if c.store == "" {
		c.store = "file://" + filepath.Join(dir, "store")
	}
	t.Cleanup(c.Stop)
	hostIP := "127.0.0.1"
	if opts.Net != nil {
		hostIP = opts.Net.HostIP()
	}
	c.lambdaA = freeAddr(t, hostIP)
	c.lambda = c.spawn("lambda-local", "lambda-local", "--addr", c.lambdaA,
		"--lambda-timeout", opts.LambdaTimeout.String(), "--concurrency", fmt.Sprint(opts.Concurrency))
	waitListening(t, c.lambdaA, 30*time.Second)
	for i := 1; i <= opts.Nodes; i++ {
		n := &Node{Index: i - 1, ID: fmt.Sprintf("n%d", i), DataDir: filepath.Join(dir, fmt.Sprintf("n%d", i))}
		if opts.Net != nil {
			n.RaftAddr, n.APIAddr, n.extra = opts.Net.Addrs(i - 1)
		} else {
			ip := fmt.Sprintf("127.0.0.%d", 10+i)
			n.RaftAddr, n.APIAddr = freeAddr(t, ip), freeAddr(t, ip)
		}
		if i > 1 {
			n.joinAddr = c.Nodes[0].APIAddr
		}
		c.Nodes = append(c.Nodes, n)
	}
	for i, n := range c.Nodes {
		c.startNode(n)
		if i == 0 {
			c.WaitLeader(30 * time.Second)
		}
	}
	var addrs []string
	for _, n := range c.Nodes {
		addrs = append(addrs, n.APIAddr)
	}
	var err error
	if c.client, err = kappaclient.New(addrs); err != nil {
		t.Fatal(err)
	}
	c.WaitMembers(opts.Nodes, 60*time.Second)
	return c
}

func (c *Cluster) serverArgs(n *Node) []string {
	opts := c.opts
	args := []string{"server", "--node-id", n.ID, "--data-dir", n.DataDir, "--raft-addr", n.RaftAddr, "--api-addr", n.APIAddr,
		"--store", c.store, "--lambda", "http://" + c.lambdaAddr(n), "--lambda-timeout", opts.LambdaTimeout.String(), "--log-level", "info"}
	if opts.PinWorkers > 0 {
		args = append(args, "--worker-coordinators", c.Nodes[opts.PinWorkers-1].APIAddr)
	}
	if n.joinAddr == "" {
		args = append(args, "--bootstrap")
	} else {
		args = append(args, "--join", n.joinAddr)
	}
	args = append(args, n.extra...)
	return append(args, opts.ExtraServerArgs...)
}

// lambdaAddr is where node n invokes lambda-local: through its network.
func (c *Cluster) lambdaAddr(n *Node) string {
	if c.opts.Net == nil {
		return c.lambdaA
	}
	return c.opts.Net.LambdaAddr(n.Index, c.lambdaA)
}

// command is node n's command line, run inside its network.
func (c *Cluster) command(n *Node) (string, []string) {
	if c.opts.Net == nil {
		return c.bin, c.serverArgs(n)
	}
	return c.opts.Net.Command(n.Index, c.bin, c.serverArgs(n))
}

func (c *Cluster) startNode(n *Node) {
	p := &Process{name: n.ID, log: filepath.Join(c.dir, n.ID+".log")}
	p.bin, p.args = c.command(n)
	if err := p.start(); err != nil {
		c.t.Fatalf("starting %s: %v", n.ID, err)
	}
	n.proc = p
	waitListening(c.t, n.APIAddr, 30*time.Second)
}

// Net is the cluster's network (nil: plain loopback).
func (c *Cluster) Net() Network { return c.opts.Net }

// Client is a client given every node's address.
func (c *Cluster) Client() *kappaclient.Client { return c.client }

// PinnedClient is a client that only knows one node (to test forwarding).
func (c *Cluster) PinnedClient(i int) *kappaclient.Client {
	cl, err := kappaclient.New([]string{c.Nodes[i].APIAddr})
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(cl.Close)
	return cl
}

// Pinned is the index of the node lambdas are pinned to (-1: none).
func (c *Cluster) Pinned() int { return c.opts.PinWorkers - 1 }

// Store is the URL of the shared checkpoint store.
func (c *Cluster) Store() string { return c.store }

// Dir is the cluster's base directory (logs, data dirs, store).
func (c *Cluster) Dir() string { return c.dir }

// Stop kills every process (cleanup; safe to call twice).
func (c *Cluster) Stop() {
	for _, n := range c.Nodes {
		n.proc.kill()
	}
	if c.lambda != nil {
		c.lambda.kill()
	}
	if c.client != nil {
		c.client.Close()
	}
}

// Binary builds the kappa binary once per test process.
func Binary(t testing.TB) string {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kappa-harness-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "kappa")
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		cmd := exec.Command("go", "build", "-o", builtBin, "./cmd/kappa")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("building kappa: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above %s", dir)
		}
		dir = parent
	}
}

// freeAddr picks a free TCP port on ip.
func freeAddr(t testing.TB, ip string) string {
	l, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatalf("no free port on %s: %v", ip, err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitListening(t testing.TB, addr string, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			conn.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s after %s", addr, limit)
}

// WaitLeader waits until some node reports itself leader and returns it.
func (c *Cluster) WaitLeader(limit time.Duration) *Node {
	c.t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if n := c.Leader(); n != nil {
			return n
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("no leader after %s", limit)
	return nil
}

// Leader returns the node that reports itself leader now (nil if none).
func (c *Cluster) Leader() *Node {
	for _, n := range c.Nodes {
		if !n.proc.running() {
			continue
		}
		st, err := c.status(n, 500*time.Millisecond)
		if err == nil && strings.EqualFold(st.GetRaftState(), "leader") {
			return n
		}
	}
	return nil
}

// Status asks one node about itself.
func (c *Cluster) Status(n *Node) (*wire.ClusterStatusResponse, error) {
	return c.status(n, 2*time.Second)
}

func (c *Cluster) status(n *Node, limit time.Duration) (*wire.ClusterStatusResponse, error) {
	cl, err := kappaclient.New([]string{n.APIAddr})
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	return cl.Status(ctx, n.APIAddr)
}

// WaitMembers waits until the leader lists n voters.
func (c *Cluster) WaitMembers(n int, limit time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		m, err := c.client.Members(ctx)
		cancel()
		if err == nil {
			voters := 0
			for _, mem := range m.GetMembers() {
				if mem.GetVoter() && mem.GetApiAddr() != "" {
					voters++
				}
			}
			if voters == n {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("the cluster did not reach %d voters in %s", n, limit)
}

// Converged waits until every running node has applied the same index and
// reports the same state hash; it returns the hash.
func (c *Cluster) Converged(limit time.Duration) string {
	c.t.Helper()
	h, err := c.TryConverged(limit)
	if err != nil {
		c.t.Fatal(err)
	}
	return h
}

// TryConverged is Converged reporting divergence as an error.
func (c *Cluster) TryConverged(limit time.Duration) (string, error) {
	deadline := time.Now().Add(limit)
	var last []string
	for time.Now().Before(deadline) {
		last = last[:0]
		hashes := map[string]bool{}
		indexes := map[uint64]bool{}
		for _, n := range c.Nodes {
			if !n.proc.running() {
				continue
			}
			st, err := c.Status(n)
			if err != nil {
				hashes["unreachable"] = true
				continue
			}
			hashes[st.GetStateHash()] = true
			indexes[st.GetAppliedIndex()] = true
			last = append(last, fmt.Sprintf("%s@%d:%.10s", n.ID, st.GetAppliedIndex(), st.GetStateHash()))
		}
		if len(hashes) == 1 && len(indexes) == 1 {
			for h := range hashes {
				return h, nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return "", fmt.Errorf("replicas did not converge in %s: %v", limit, last)
}
