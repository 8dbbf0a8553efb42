// Package proccluster runs a Kappa cluster as processes: N `kappa server`
// processes of one kappa binary, each with its own data dir and ports, the
// first bootstrapping and the others joining it, optionally a `kappa
// lambda-local` process whose lambdas outlive any node, and a checkpoint
// store they share. It starts, kills, pauses, restarts and wipes nodes and
// finds the leader through the client API.
//
// `kappa dev-cluster`, `kappa bench`, the CLI's tests and the Jepsen-style
// harness are built on it. It knows nothing of faults: the harness places
// nodes in its networks through Options.Addrs and Options.Command.
package proccluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/node"
	"github.com/kappa-serverless/kappa/transport/kappaclient"
)

// Options shape a cluster.
type Options struct {
	Binary string // the kappa binary every process runs (required)
	Dir    string // data dirs, the default store and every process's log (required)
	Nodes  int    // default 3
	// Addrs gives node i's (0-based) Raft and API listen addresses and any
	// server flags the node needs beyond them (say, the address its peers
	// reach its Raft at); nil: free ports on 127.0.0.1.
	Addrs func(i int) (raft, api string, extra []string, err error)
	// Command wraps node i's command line (say, to run it inside a network
	// namespace); nil: run as is.
	Command func(i int, bin string, args []string) (string, []string)
	// Store is the checkpoint store URL; default a directory under Dir. A
	// password goes in a file (ServerArgs: --store-password-file), never
	// in the URL: command lines are public.
	Store string
	// KeyFile is the cluster key file every node reads; default
	// Dir/cluster.keys, made when missing. A node whose Addrs give it
	// --cluster-key-file reads that one instead.
	KeyFile string
	// Lambda is the Lambda Invoke API URL the servers invoke lambdas at;
	// empty: each server's own in-process platform (`--lambda local`), or
	// LambdaLocal's when that is set.
	Lambda string
	// LambdaLocal, when its Addr is set, starts `kappa lambda-local` there
	// (with Args) before the nodes, and the nodes use it.
	LambdaLocal LambdaLocal
	// ServerArgs are appended to every `kappa server` command line.
	ServerArgs []string
	// MetricsAddr, when set, gives node i (0-based) an HTTP port at the
	// address it returns (--metrics-addr: /metrics, /livez, /readyz; see
	// Node.MetricsAddr); FreeLoopback picks free ports.
	MetricsAddr func(i int) (string, error)
	// Insecure runs every process in plaintext (--insecure); otherwise the
	// cluster gets its own CA and certificates under Dir/certs, the nodes
	// and lambda-local speak TLS, lambda-local checks signatures, and the
	// cluster's client is an admin (CertsDir).
	Insecure bool
	// ClientOptions are added to how the cluster's own client dials
	// (credentials such as kappaclient.Token for a cluster started with
	// --token-file).
	ClientOptions []grpc.DialOption
	// Supervise starts a node again when it exits with the drill exit code
	// (`kappa drill` told it to exit), as systemd's Restart=on-failure does.
	Supervise bool
}

// LambdaLocal is a `kappa lambda-local` process serving the cluster's
// lambdas.
type LambdaLocal struct {
	Addr string
	Args []string // more flags: --lambda-timeout, --concurrency, …
}

// Startup limits: a process must listen within listenLimit, the first node
// lead within leaderLimit, and the cluster count every node as a voter
// within membersLimit.
const (
	listenLimit  = 30 * time.Second
	leaderLimit  = 30 * time.Second
	membersLimit = 60 * time.Second
)

// Cluster is a running set of processes.
type Cluster struct {
	opts   Options
	store  string
	lambda *Process // nil without LambdaLocal
	Nodes  []*Node
	client *kappaclient.Client
	pki    *pki // nil when Insecure
	// stopping: Stop has begun; the supervisor starts nothing more.
	stopping atomic.Bool
}

// Node is one `kappa server`.
type Node struct {
	Index    int // 0-based
	ID       string
	RaftAddr string
	APIAddr  string
	DataDir  string
	// Binary, when set, is the kappa binary this node runs from its next
	// start on (a rolling upgrade); empty: Options.Binary.
	Binary string
	// Flags are server flags of this node alone from its next start on;
	// they come after Options.ServerArgs, so they override them.
	Flags []string
	// MetricsAddr is its --metrics-addr (empty without Options.MetricsAddr).
	MetricsAddr string
	proc        *Process
	join        string   // a member's API address; empty: bootstrap
	extra       []string // from Options.Addrs
	certs       string   // its certs dir ("" when insecure)
	alone       []string // StartAlone's flags, in place of --bootstrap/--join
}

// Start starts the cluster: lambda-local (if asked), then the nodes one by
// one, each listening before the next starts, the first leading before the
// others join (unless Dir holds the nodes of an earlier run: they restart
// from their data dirs). It returns once every node is a voter; on an
// error it stops whatever it started.
func Start(o Options) (*Cluster, error) {
	if o.Binary == "" || o.Dir == "" {
		return nil, errors.New("proccluster: Options.Binary and Options.Dir are required")
	}
	if o.Nodes == 0 {
		o.Nodes = 3
	}
	c := &Cluster{opts: o, store: o.Store}
	if c.store == "" {
		c.store = "file://" + filepath.Join(o.Dir, "store")
	}
	if c.opts.KeyFile == "" {
		c.opts.KeyFile = filepath.Join(o.Dir, "cluster.keys")
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, err
	}
	if _, err := checkpoint.EnsureKeyFile(c.opts.KeyFile); err != nil {
		return nil, fmt.Errorf("proccluster: %w", err)
	}
	if err := c.start(); err != nil {
		c.Stop(0)
		return nil, err
	}
	return c, nil
}

func (c *Cluster) start() error {
	o := c.opts
	if !o.Insecure {
		var err error
		if c.pki, err = newPKI(o.Dir); err != nil {
			return err
		}
	}
	if o.LambdaLocal.Addr != "" {
		args, err := c.lambdaLocalArgs()
		if err != nil {
			return err
		}
		c.lambda = c.process("lambda-local", o.Binary, args)
		if err := c.lambda.Start(); err != nil {
			return err
		}
		if err := WaitListening(o.LambdaLocal.Addr, listenLimit); err != nil {
			return fmt.Errorf("lambda-local: %w (log: %s)", err, c.lambda.LogPath())
		}
		if c.opts.Lambda == "" {
			c.opts.Lambda = LambdaScheme(o.Insecure) + "://" + o.LambdaLocal.Addr
		}
	}
	for i := range o.Nodes {
		n := &Node{Index: i, ID: fmt.Sprintf("n%d", i+1), DataDir: filepath.Join(o.Dir, fmt.Sprintf("n%d", i+1))}
		var err error
		if o.Addrs != nil {
			n.RaftAddr, n.APIAddr, n.extra, err = o.Addrs(i)
		} else if n.RaftAddr, err = FreeAddr("127.0.0.1"); err == nil {
			n.APIAddr, err = FreeAddr("127.0.0.1")
		}
		if err == nil && o.MetricsAddr != nil {
			n.MetricsAddr, err = o.MetricsAddr(i)
		}
		if err != nil {
			return fmt.Errorf("addresses of %s: %w", n.ID, err)
		}
		if i > 0 {
			n.join = c.Nodes[0].APIAddr
		}
		if n.certs, err = c.IssueNode(n.ID, n.RaftAddr, n.APIAddr); err != nil {
			return fmt.Errorf("certificates of %s: %w", n.ID, err)
		}
		n.proc = c.process(n.ID, "", nil)
		c.Nodes = append(c.Nodes, n)
	}
	// A new cluster's first node must lead before the others can join it;
	// nodes restarted from their data dirs need a quorum to elect a leader.
	leadAfter := 0
	if _, err := os.Stat(c.Nodes[0].DataDir); err == nil {
		leadAfter = len(c.Nodes) - 1
	}
	for i, n := range c.Nodes {
		if err := c.startNode(n); err != nil {
			return err
		}
		if i == leadAfter {
			if _, err := c.WaitLeader(leaderLimit); err != nil {
				return err
			}
		}
	}
	var err error
	if c.client, err = kappaclient.New(c.Addrs(), c.ClientOptions()...); err != nil {
		return err
	}
	return c.WaitMembers(o.Nodes, membersLimit)
}

// lambdaLocalArgs is lambda-local's command line.
func (c *Cluster) lambdaLocalArgs() ([]string, error) {
	args := []string{"lambda-local", "--addr", c.opts.LambdaLocal.Addr}
	if c.pki == nil {
		args = append(args, "--insecure")
	} else {
		dir, err := c.pki.lambda(c.opts.LambdaLocal.Addr)
		if err != nil {
			return nil, err
		}
		args = append(append(args, "--certs-dir", dir), c.pki.signing()...)
	}
	return append(args, c.opts.LambdaLocal.Args...), nil
}

func (c *Cluster) process(name, bin string, args []string) *Process {
	return NewProcess(name, bin, args, filepath.Join(c.opts.Dir, name+".log"))
}

// serverArgs is node n's `kappa server` command line.
func (c *Cluster) serverArgs(n *Node) []string {
	args := []string{"server", "--node-id", n.ID, "--data-dir", n.DataDir, "--raft-addr", n.RaftAddr, "--api-addr", n.APIAddr,
		"--store", c.store}
	if !slices.Contains(n.extra, "--cluster-key-file") {
		// One shared file, unless Addrs gives the node its own.
		args = append(args, "--cluster-key-file", c.opts.KeyFile)
	}
	if c.opts.Lambda != "" {
		args = append(args, "--lambda", c.opts.Lambda)
	}
	if c.pki == nil {
		args = append(args, "--insecure")
	} else {
		args = append(append(args, "--certs-dir", n.certs), c.pki.signing()...)
	}
	switch {
	case n.alone != nil:
		args = append(args, n.alone...)
	case n.join == "":
		args = append(args, "--bootstrap")
	default:
		args = append(args, "--join", n.join)
	}
	if n.MetricsAddr != "" {
		args = append(args, "--metrics-addr", n.MetricsAddr)
	}
	args = append(args, n.extra...)
	args = append(args, c.opts.ServerArgs...)
	return append(args, n.Flags...)
}

// startNode runs node n (again) with its current command line and waits
// until its API listens.
func (c *Cluster) startNode(n *Node) error {
	n.proc.bin, n.proc.args = c.opts.Binary, c.serverArgs(n)
	if n.Binary != "" {
		n.proc.bin = n.Binary
	}
	if c.opts.Command != nil {
		n.proc.bin, n.proc.args = c.opts.Command(n.Index, n.proc.bin, n.proc.args)
	}
	if err := n.proc.Start(); err != nil {
		return err
	}
	if c.opts.Supervise {
		go c.supervise(n, n.proc.exitedRun())
	}
	if err := WaitListening(n.APIAddr, listenLimit); err != nil {
		return fmt.Errorf("%s: %w (log: %s)", n.ID, err, n.proc.LogPath())
	}
	return nil
}

// supervise waits for one run of node n to end and starts the node again
// when it exited with the drill exit code.
func (c *Cluster) supervise(n *Node, exited <-chan struct{}) {
	<-exited
	if c.stopping.Load() || n.proc.exitCode() != node.DrillExitCode {
		return
	}
	time.Sleep(200 * time.Millisecond) // as systemd's RestartSec, briefly
	if c.stopping.Load() {
		return
	}
	if err := c.startNode(n); err != nil {
		fmt.Fprintf(os.Stderr, "proccluster: restarting %s after its drill exit: %v\n", n.ID, err)
	}
}

// Addrs are the nodes' API addresses.
func (c *Cluster) Addrs() []string {
	var out []string
	for _, n := range c.Nodes {
		out = append(out, n.APIAddr)
	}
	return out
}

// Client is a client given every node's address.
func (c *Cluster) Client() *kappaclient.Client { return c.client }

// Store is the URL of the shared checkpoint store.
func (c *Cluster) Store() string { return c.store }

// KeyFile is the cluster key file every node reads.
func (c *Cluster) KeyFile() string { return c.opts.KeyFile }

// Dir holds the data dirs, the default store and the logs.
func (c *Cluster) Dir() string { return c.opts.Dir }

// LambdaURL is the Invoke API URL the nodes use ("" for in-process lambdas).
func (c *Cluster) LambdaURL() string { return c.opts.Lambda }

// LambdaLocal is the lambda-local process (nil when there is none).
func (c *Cluster) LambdaLocal() *Process { return c.lambda }

// Kill SIGKILLs a node.
func (c *Cluster) Kill(n *Node) { n.proc.Kill() }

// Restart kills a node if it runs and starts it again from its data dir (a
// node with Raft state rejoins by itself).
func (c *Cluster) Restart(n *Node) error {
	n.proc.Kill()
	return c.startNode(n)
}

// Terminate stops a node on purpose (SIGTERM, see Process.Terminate) and
// waits up to limit for it to exit; nil means it exited with status 0.
func (c *Cluster) Terminate(n *Node, limit time.Duration) error { return n.proc.Terminate(limit) }

// WaitExit waits up to limit for a node's process to end by itself and
// returns how it ended (nil: exit status 0).
func (c *Cluster) WaitExit(n *Node, limit time.Duration) error { return n.proc.Wait(limit) }

// Reload sends SIGHUP to a node's process (as `systemctl reload` does).
func (c *Cluster) Reload(n *Node) error { return n.proc.SignalMain(syscall.SIGHUP) }

// StartAlone kills a node if it runs and starts it as a cluster of its own:
// with the given flags (--force-new-cluster, --restore FILE) in place of
// --bootstrap or --join. Later restarts use its usual command line, which
// bootstraps (a node with Raft state ignores --bootstrap); a wiped node
// joins whichever node Wipe names, so start the others after Wipe.
func (c *Cluster) StartAlone(n *Node, flags ...string) error {
	n.proc.Kill()
	n.alone, n.join = append([]string{}, flags...), ""
	defer func() { n.alone = nil }()
	return c.startNode(n)
}

// Wipe kills a node and deletes its data dir; Restart then makes it join
// again as a new, empty member (it catches up by snapshot).
func (c *Cluster) Wipe(n *Node) error {
	n.proc.Kill()
	if err := os.RemoveAll(n.DataDir); err != nil {
		return err
	}
	// An empty node must join; it must never bootstrap a second cluster.
	for _, other := range c.Nodes {
		if other != n {
			n.join = other.APIAddr
			break
		}
	}
	return nil
}

// Pause freezes a node (SIGSTOP); Resume continues it (SIGCONT).
func (c *Cluster) Pause(n *Node) error { return n.proc.Signal(syscall.SIGSTOP) }

func (c *Cluster) Resume(n *Node) error { return n.proc.Signal(syscall.SIGCONT) }

// Log is a node's log so far.
func (c *Cluster) Log(n *Node) string {
	b, _ := os.ReadFile(n.proc.LogPath())
	return string(b)
}

// Stop ends every process: with a grace period, SIGTERM first and SIGKILL
// to what still runs after it; with 0, SIGKILL at once. Safe to call twice.
func (c *Cluster) Stop(grace time.Duration) {
	c.stopping.Store(true)
	var procs []*Process
	for _, n := range c.Nodes {
		procs = append(procs, n.proc)
	}
	if c.lambda != nil {
		procs = append(procs, c.lambda)
	}
	if grace > 0 {
		for _, p := range procs {
			if p.Running() {
				p.Signal(syscall.SIGTERM)
			}
		}
		deadline := time.Now().Add(grace)
		for _, p := range procs {
			p.waitExit(time.Until(deadline))
		}
	}
	for _, p := range procs {
		p.Kill()
	}
	if c.client != nil {
		c.client.Close()
	}
}

// Running says whether the node's process is alive (paused counts).
func (n *Node) Running() bool { return n.proc.Running() }

// PID is the node's process id (0 when it is not running).
func (n *Node) PID() int { return n.proc.PID() }

// Paused says whether the node is stopped by Pause.
func (n *Node) Paused() bool { return n.proc.Paused() }
