// Package harness starts and attacks real Kappa clusters: every node is a
// `kappa server` process with its own data dir on its own 127.0.0.x
// address, the lambdas run in a separate `kappa lambda-local` process (so
// killing a node does not kill them), and the checkpoint store is a
// directory they share. The processes are run by node/proccluster; this
// package adds the test's view (failures end the test), fault-injecting
// networks, Redis, an effects receiver and checks. Tests kill, pause,
// restart and wipe nodes and read every replica's state through the
// client API.
package harness

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/kappa-serverless/kappa/node/nodetest"
	"github.com/kappa-serverless/kappa/node/proccluster"
	"github.com/kappa-serverless/kappa/transport/kappaclient"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// UnsafeEnv must be "1" in a server's environment for it to accept
// --unsafe-test-fault. The harness drives processes, so it names the
// variable rather than importing the node that reads it.
const UnsafeEnv = "KAPPA_UNSAFE_TEST"

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
	t      testing.TB
	procs  *proccluster.Cluster
	lambda *proccluster.Process
	// lambdaAddr is where lambda-local listens (on the host).
	lambdaAddr string
	Nodes      []*Node
	opts       Options
}

// Node is one `kappa server`.
type Node = proccluster.Node

// nodeAddrs are one node's listen addresses and the server flags its
// network needs.
type nodeAddrs struct {
	raft, api string
	extra     []string
}

// Start starts opts.Nodes servers of nodetest.KappaBinary, the first
// bootstrapping and the others joining it, and registers cleanup with t.
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
	hostIP := "127.0.0.1"
	if opts.Net != nil {
		hostIP = opts.Net.HostIP()
	}
	lambdaAddr := freeAddr(t, hostIP)
	// Every address first: a pinned node's API address is on every
	// command line.
	addrs := make([]nodeAddrs, opts.Nodes)
	for i := range addrs {
		a := &addrs[i]
		if opts.Net != nil {
			a.raft, a.api, a.extra = opts.Net.Addrs(i)
			// Each node reaches the lambdas through its network, so the
			// network can cut that link too (a later --lambda wins).
			a.extra = append(a.extra, "--lambda", proccluster.LambdaScheme(false)+"://"+opts.Net.LambdaAddr(i, lambdaAddr))
		} else {
			ip := fmt.Sprintf("127.0.0.%d", 11+i)
			a.raft, a.api = freeAddr(t, ip), freeAddr(t, ip)
		}
	}
	serverArgs := []string{"--lambda-timeout", opts.LambdaTimeout.String(), "--log-level", "info"}
	if opts.PinWorkers > 0 {
		serverArgs = append(serverArgs, "--worker-coordinators", addrs[opts.PinWorkers-1].api)
	}
	po := proccluster.Options{
		Binary: nodetest.KappaBinary(t), Dir: t.TempDir(), Nodes: opts.Nodes, Store: opts.Store,
		Addrs: func(i int) (string, string, []string, error) { return addrs[i].raft, addrs[i].api, addrs[i].extra, nil },
		LambdaLocal: proccluster.LambdaLocal{Addr: lambdaAddr,
			Args: []string{"--lambda-timeout", opts.LambdaTimeout.String(), "--concurrency", fmt.Sprint(opts.Concurrency)}},
		ServerArgs: append(serverArgs, opts.ExtraServerArgs...),
	}
	if opts.Net != nil {
		po.Command = opts.Net.Command
	}
	procs, err := proccluster.Start(po)
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{t: t, procs: procs, lambda: procs.LambdaLocal(), lambdaAddr: lambdaAddr, Nodes: procs.Nodes, opts: opts}
	t.Cleanup(c.Stop)
	return c
}

// Net is the cluster's network (nil: plain loopback).
func (c *Cluster) Net() Network { return c.opts.Net }

// Client is a client given every node's address.
func (c *Cluster) Client() *kappaclient.Client { return c.procs.Client() }

// PinnedClient is a client that only knows one node (to test forwarding).
func (c *Cluster) PinnedClient(i int) *kappaclient.Client {
	cl, err := kappaclient.New([]string{c.Nodes[i].APIAddr}, c.ClientOptions()...)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(cl.Close)
	return cl
}

// ClientOptions connect a client to this cluster as its admin.
func (c *Cluster) ClientOptions() []grpc.DialOption { return c.procs.ClientOptions() }

// CertsDir is the admin client's certs dir (for KAPPA_CERTS_DIR).
func (c *Cluster) CertsDir() string { return c.procs.CertsDir() }

// Procs is the cluster's processes (certificates, more nodes).
func (c *Cluster) Procs() *proccluster.Cluster { return c.procs }

// Pinned is the index of the node lambdas are pinned to (-1: none).
func (c *Cluster) Pinned() int { return c.opts.PinWorkers - 1 }

// Store is the URL of the shared checkpoint store.
func (c *Cluster) Store() string { return c.procs.Store() }

// KeyFile is the cluster key file every node reads.
func (c *Cluster) KeyFile() string { return c.procs.KeyFile() }

// Dir is the cluster's base directory (logs, data dirs, store).
func (c *Cluster) Dir() string { return c.procs.Dir() }

// Stop kills every process (cleanup; safe to call twice).
func (c *Cluster) Stop() { c.procs.Stop(0) }

// freeAddr picks a free TCP port on ip.
func freeAddr(t testing.TB, ip string) string {
	addr, err := proccluster.FreeAddr(ip)
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

func waitListening(t testing.TB, addr string, limit time.Duration) {
	if err := proccluster.WaitListening(addr, limit); err != nil {
		t.Fatal(err)
	}
}

// WaitLeader waits until some node reports itself leader and returns it.
func (c *Cluster) WaitLeader(limit time.Duration) *Node {
	c.t.Helper()
	n, err := c.procs.WaitLeader(limit)
	if err != nil {
		c.t.Fatal(err)
	}
	return n
}

// Leader returns the node that reports itself leader now (nil if none).
func (c *Cluster) Leader() *Node { return c.procs.Leader() }

// Status asks one node about itself.
func (c *Cluster) Status(n *Node) (*wire.ClusterStatusResponse, error) {
	return c.procs.Status(n, 2*time.Second)
}

// WaitMembers waits until the leader lists n voters.
func (c *Cluster) WaitMembers(n int, limit time.Duration) {
	c.t.Helper()
	if err := c.procs.WaitMembers(n, limit); err != nil {
		c.t.Fatal(err)
	}
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
			if !n.Running() {
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
