package raftgrpc

// A test harness of real hashicorp/raft nodes talking over this transport
// on 127.0.0.1, each with its own gRPC server whose interceptors count the
// RPCs and stream messages it serves.

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"google.golang.org/grpc"

	"github.com/kappa-serverless/kappa/transport/tlsconf"
)

// Generous for a loaded 2-core machine under -race.
const (
	electionWait = 20 * time.Second
	convergeWait = 30 * time.Second
)

type clusterOptions struct {
	nodes     int                // 3 unless set
	ca        *tlsconf.CA        // each node gets a certs dir with its own node certificate
	boltDir   string             // boltdb and file snapshot stores here; in-memory ones if empty
	raftConf  func(*raft.Config) // adjusts the test defaults
	transConf func(*Config)      // adjusts the transport's
	baseline  bool               // raft's NetworkTransport instead, for comparison
}

type cluster struct {
	t     testing.TB
	opts  clusterOptions
	nodes []*testNode
}

type testNode struct {
	id     raft.ServerID
	addr   raft.ServerAddress
	fsm    *testFSM
	logs   raft.LogStore
	stable raft.StableStore
	snaps  raft.SnapshotStore
	closer io.Closer // the boltdb store, if any

	rpcs       rpcCounter
	heartbeats atomic.Int64 // heartbeats raft's fast-path handler took

	trans  *Transport
	server *grpc.Server // nil when the transport serves on its own (Listen)
	raft   *raft.Raft
}

// newCluster starts nodes on fresh ports, bootstraps them as one
// configuration and waits for a leader.
func newCluster(t testing.TB, opts clusterOptions) *cluster {
	t.Helper()
	if opts.nodes == 0 {
		opts.nodes = 3
	}
	c := &cluster{t: t, opts: opts}
	var servers []raft.Server
	listeners := make([]net.Listener, opts.nodes)
	for i := range opts.nodes {
		listeners[i] = listenLocal(t)
		n := &testNode{id: raft.ServerID(fmt.Sprintf("node%d", i)), addr: raft.ServerAddress(listeners[i].Addr().String()), fsm: &testFSM{}}
		c.openStores(n)
		c.nodes = append(c.nodes, n)
		servers = append(servers, raft.Server{ID: n.id, Address: n.addr})
	}
	t.Cleanup(c.shutdown)
	for i, n := range c.nodes {
		c.start(n, listeners[i], false)
	}
	if err := c.nodes[0].raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil {
		t.Fatal(err)
	}
	c.leader()
	// Until a follower has the configuration it cannot stand for election,
	// so a test that stops the leader at once would find no successor.
	waitFor(t, convergeWait, "every node to know the configuration", func() bool {
		for _, n := range c.nodes {
			f := n.raft.GetConfiguration()
			if f.Error() != nil || len(f.Configuration().Servers) != opts.nodes {
				return false
			}
		}
		return true
	})
	return c
}

func (c *cluster) openStores(n *testNode) {
	if c.opts.boltDir == "" {
		store := raft.NewInmemStore()
		n.logs, n.stable, n.snaps = store, store, raft.NewInmemSnapshotStore()
		return
	}
	dir := filepath.Join(c.opts.boltDir, string(n.id))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		c.t.Fatal(err)
	}
	store, err := raftboltdb.NewBoltStore(filepath.Join(dir, "raft.db"))
	if err != nil {
		c.t.Fatal(err)
	}
	snaps, err := raft.NewFileSnapshotStore(dir, 2, io.Discard)
	if err != nil {
		c.t.Fatal(err)
	}
	n.logs, n.stable, n.snaps, n.closer = store, store, snaps, store
}

// start runs n with a new transport: on a test server with counting
// interceptors over lis, or, with ownServer, through Transport.Listen (or,
// for the baseline, raft's own TCP transport on n's address).
func (c *cluster) start(n *testNode, lis net.Listener, ownServer bool) {
	c.t.Helper()
	conf := raft.DefaultConfig()
	conf.LocalID = n.id
	conf.HeartbeatTimeout = 500 * time.Millisecond
	conf.ElectionTimeout = 500 * time.Millisecond
	conf.LeaderLeaseTimeout = 250 * time.Millisecond
	conf.CommitTimeout = 5 * time.Millisecond
	conf.SnapshotThreshold = 1 << 30 // snapshots only where a test asks
	conf.SnapshotInterval = time.Hour
	conf.Logger = raftLogger(n.id)
	if c.opts.raftConf != nil {
		c.opts.raftConf(conf)
	}
	var trans raft.Transport
	if c.opts.baseline {
		_ = lis.Close()
		var tcp *raft.NetworkTransport
		retry(c.t, func() (err error) {
			tcp, err = raft.NewTCPTransport(string(n.addr), nil, 3, 10*time.Second, io.Discard)
			return err
		})
		trans = tcp
	} else {
		trans = c.grpcTransport(n, lis, ownServer, conf.HeartbeatTimeout)
	}
	r, err := raft.NewRaft(conf, n.fsm, n.logs, n.stable, n.snaps, trans)
	if err != nil {
		c.t.Fatal(err)
	}
	if !c.opts.baseline {
		n.trans.SetHeartbeatShortcut(FollowerIn(r)) // as the node does
	}
	n.raft = r
}

func (c *cluster) grpcTransport(n *testNode, lis net.Listener, ownServer bool, heartbeatTimeout time.Duration) raft.Transport {
	tcfg := Config{LocalAddr: n.addr, Timeout: 5 * time.Second, HeartbeatTimeout: heartbeatTimeout, Logger: testLogger().With("node", n.id)}
	if c.opts.ca != nil {
		tcfg.Certs = nodeCerts(c.t, c.opts.ca, string(n.id))
	}
	if c.opts.transConf != nil {
		c.opts.transConf(&tcfg)
	}
	trans, err := New(tcfg)
	if err != nil {
		c.t.Fatal(err)
	}
	n.trans, n.server = trans, nil
	if ownServer {
		retry(c.t, func() error { return trans.Listen(string(n.addr)) })
	} else {
		opts := append(trans.ServerOptions(), grpc.ChainUnaryInterceptor(n.rpcs.unary), grpc.ChainStreamInterceptor(n.rpcs.stream))
		n.server = grpc.NewServer(opts...)
		trans.Register(n.server)
		go func() { _ = n.server.Serve(lis) }()
	}
	return &countingTransport{Transport: trans, n: n}
}

// retry runs f until it succeeds, for binding a port a stopped node has
// just released.
func retry(t testing.TB, f func() error) {
	t.Helper()
	var err error
	for range 50 {
		if err = f(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal(err)
}

// restart starts a stopped node again on its address with a new transport.
func (c *cluster) restart(n *testNode, ownServer bool) {
	c.t.Helper()
	n.fsm = &testFSM{} // memory does not survive; raft restores and replays
	var lis net.Listener
	if !ownServer {
		retry(c.t, func() (err error) {
			lis, err = net.Listen("tcp", string(n.addr))
			return err
		})
	}
	c.start(n, lis, ownServer)
}

// stop shuts n's raft down (which closes its transport) and its server.
func (c *cluster) stop(n *testNode) {
	c.t.Helper()
	if n.raft == nil {
		return
	}
	if err := n.raft.Shutdown().Error(); err != nil {
		c.t.Errorf("shutting %s down: %v", n.id, err)
	}
	if n.server != nil {
		n.server.Stop()
	}
	n.raft = nil
}

func (c *cluster) shutdown() {
	for _, n := range c.nodes {
		c.stop(n)
		if n.closer != nil {
			_ = n.closer.Close()
			n.closer = nil
		}
	}
}

func (c *cluster) running() []*testNode {
	var out []*testNode
	for _, n := range c.nodes {
		if n.raft != nil {
			out = append(out, n)
		}
	}
	return out
}

// leader waits for a running node to lead.
func (c *cluster) leader() *testNode {
	c.t.Helper()
	var leader *testNode
	waitFor(c.t, electionWait, "a leader", func() bool {
		for _, n := range c.running() {
			if n.raft.State() == raft.Leader {
				leader = n
				return true
			}
		}
		return false
	})
	return leader
}

func (c *cluster) followers() []*testNode {
	var out []*testNode
	for _, n := range c.running() {
		if n.raft.State() != raft.Leader {
			out = append(out, n)
		}
	}
	return out
}

// applyN applies n distinct commands through the leader, from workers
// goroutines at once.
func (c *cluster) applyN(leader *testNode, n, workers int) {
	c.t.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				cmd := fmt.Appendf(nil, "%s-%d-%032d", leader.id, leader.fsm.count(), i)
				if err := leader.raft.Apply(cmd, 10*time.Second).Error(); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		c.t.Fatalf("apply on %s: %v", leader.id, err)
	}
}

// converged waits until every running node's FSM holds want commands, the
// same ones in the same order.
func (c *cluster) converged(want int) {
	c.t.Helper()
	waitFor(c.t, convergeWait, fmt.Sprintf("all nodes to apply %d commands", want), func() bool {
		first := ""
		for _, n := range c.running() {
			count, digest := n.fsm.state()
			if count != want || (first != "" && digest != first) {
				return false
			}
			first = digest
		}
		return true
	})
}

func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func raftLogger(id raft.ServerID) hclog.Logger {
	opts := &hclog.LoggerOptions{Name: string(id), Level: hclog.Off, Output: io.Discard}
	if testing.Verbose() {
		opts.Level, opts.Output = hclog.Info, os.Stderr
	}
	return hclog.New(opts)
}
