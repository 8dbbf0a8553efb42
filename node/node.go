// Package node is one coordinator node: hashicorp/raft with raft-boltdb/v2
// and file snapshots, the gRPC task and client services, and the
// leader-only loops that launch lambdas and watch leases.
package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/fsm"
	"github.com/kappa-serverless/kappa/lambda"
	"github.com/kappa-serverless/kappa/node/backup"
	"github.com/kappa-serverless/kappa/node/logging"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
	"github.com/kappa-serverless/kappa/transport/raftgrpc"
	"github.com/kappa-serverless/kappa/transport/tlsconf"
)

// Config configures a node; Start fills zero fields from DefaultConfig.
type Config struct {
	NodeID  string
	DataDir string
	// APIAddr is where the gRPC task and client services listen
	// (port 0 picks a free port; see Node.APIAddr).
	APIAddr string
	// Certs secure the API port with TLS: the node presents node.crt and
	// verifies a client certificate when one is given (tasks and token
	// clients have none). They are also the certificate this node shows
	// when it calls another node's API (forwarding, joining), and the CA
	// workers are told to trust. Nil: plaintext (`kappa server --insecure`,
	// the embedded default on loopback).
	Certs *tlsconf.Certs
	// Bootstrap makes this node the first voter of a new cluster when its
	// data dir holds no Raft state yet.
	Bootstrap bool
	// Join is the API address of any member of an existing cluster; a node
	// without Raft state asks it to add this node as a voter. JoinTimeout
	// bounds the asking.
	Join        string
	JoinTimeout time.Duration
	// Transport carries Raft between nodes; nil gives an in-memory
	// transport, enough for a single-node cluster. RaftAddr is the address
	// other nodes reach this one at (the transport's local address).
	Transport raft.Transport

	Invoker lambda.Invoker
	// CoordinatorInvoker runs @on_coordinator tasks as processes on this
	// node, without a lambda time limit; they are killed when the node
	// loses leadership and resume on the next leader from their last
	// checkpoint. Nil: such tasks run on Invoker like any other.
	CoordinatorInvoker lambda.Invoker
	// MaxInvocations bounds the lambdas this leader runs at once (0: no
	// bound); set it to the platform's concurrency so launches queue here
	// instead of being throttled there.
	MaxInvocations int
	// Function is the name of the worker function lambdas are invoked as.
	Function      string
	LambdaTimeout time.Duration
	// LambdaUnreachableStepDown: a leader whose invocations have failed to
	// reach the lambda platform (cannot connect, or no answer) for this
	// long hands leadership to another voter (0: never; see stepdown.go).
	LambdaUnreachableStepDown time.Duration
	Store                     checkpoint.Store
	// WorkerStore is the store URL handed to workers, with the workers' own
	// credential: never the node's (default: Store's URL, for a store
	// without a password).
	WorkerStore string
	// Keys is this node's cluster key file (required; see keys.go).
	Keys *checkpoint.KeyFile
	// GCInterval is how often the leader collects store garbage; Retention
	// how long a finished job's keys and record are kept (judged by the
	// cluster clock, not this node's wall clock: see fsm Command.clock_ms).
	GCInterval time.Duration
	Retention  time.Duration
	// JobHistory is how many events each job's history keeps (the
	// oldest are dropped and counted); stamped into each submit.
	JobHistory int
	// Quotas bound what one job, one submitter and the cluster may hold.
	Quotas Quotas

	Raft   RaftTuning
	Worker WorkerSettings
	// Limits bound what one request can make the cluster hold (limits.go).
	Limits Limits
	Logger *slog.Logger
	// hashicorp/raft's own log lines at RaftLogLevel (default: warnings and
	// errors) go through Logger, in its format, with logger=raft; or, when
	// RaftLog is set, to it in hclog's own format (tests).
	RaftLog      io.Writer
	RaftLogLevel string
	// RaftLogFormat is the Raft log's on-disk format for a new data dir:
	// RaftLogBolt (the default) or RaftLogWAL; an existing data dir keeps
	// its own (raftlog.go).
	RaftLogFormat string
	// WorkerCoordinators are the API addresses handed to lambdas; default
	// every member's (this node first).
	WorkerCoordinators []string
	// TokenFile lists the bearer tokens clients may present, by hash (one
	// "sha256-hex role name" line each, see `kappa token create`); it is
	// re-read when it changes. Tokens are more, held in memory (the
	// embedded default's own). Without TLS and without tokens the cluster
	// is open: every client is an admin (task calls still need their
	// task secret).
	TokenFile string
	Tokens    []Token
	// TestInterceptor wraps every unary API call. Tests use it to drop or
	// delay responses; production leaves it nil.
	TestInterceptor grpc.UnaryServerInterceptor
	// Unsafe breaks guarantees on purpose (tests only; see unsafe.go).
	Unsafe UnsafeFaults
	// MaxCommandVersion makes this node act as an older build that applies
	// command versions up to it (tests of rolling upgrades; 0: this build's).
	MaxCommandVersion uint32
	// ShutdownTimeout bounds a planned stop (Shutdown): a leader's drain of
	// its on-coordinator tasks and its leadership transfer (0: stop at
	// once, the cluster elects a leader after an election timeout).
	ShutdownTimeout time.Duration
	// UIAddr serves the dashboard (HTTPS with Certs, behind the API's
	// authentication); empty: off.
	UIAddr string
	// TestClockOffset shifts this node's wall clock (tests of a leader
	// whose clock is wrong).
	TestClockOffset time.Duration
	// PerNodeStore says Store is this node's own (the default directory in
	// its data dir): allowed only while the cluster has one voter.
	PerNodeStore bool
	// ForceNewCluster makes this node a new cluster's only voter: from the
	// backup file Restore (into an empty data dir), or else from its own
	// Raft state (recovery from lost quorum). See restore.go.
	ForceNewCluster bool
	Restore         string
	// DeadServerAfter: the leader removes a voter it has not reached for
	// this long (0: never), as long as the remaining voters keep a quorum
	// and number at least MinQuorum. See cleanup.go.
	DeadServerAfter time.Duration
	MinQuorum       int
}

// RaftTuning holds the Raft timeouts and log compaction settings.
type RaftTuning struct {
	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	CommitTimeout      time.Duration
	SnapshotThreshold  uint64
	SnapshotInterval   time.Duration
	TrailingLogs       uint64
	ApplyTimeout       time.Duration
}

// WorkerSettings are handed to every invocation: how the worker polls,
// heartbeats and pauses.
type WorkerSettings struct {
	BusyWait          time.Duration
	HeartbeatInterval time.Duration
	AutoPause         time.Duration
}

// DefaultConfig is a node's configuration with every default filled in.
// The server's flags take their defaults from it (cmd/kappa) and Start
// fills each zero field from it, so every default is written once, here.
// Three zero values mean something and are kept: MaxInvocations 0 is "no
// bound", LambdaUnreachableStepDown 0 is "never" and ShutdownTimeout 0 is
// "stop without handing leadership over" (the values here are what
// `kappa server` runs with).
func DefaultConfig() Config {
	return Config{
		NodeID:                    "node1",
		APIAddr:                   "127.0.0.1:0", // a free port; `kappa server` documents fixed ones
		JoinTimeout:               time.Minute,
		MaxInvocations:            lambda.DefaultConcurrency,
		Function:                  lambda.DefaultFunction,
		LambdaTimeout:             lambda.DefaultTimeout,
		LambdaUnreachableStepDown: 10 * time.Second,
		ShutdownTimeout:           10 * time.Second,
		UIAddr:                    "", // the dashboard is off unless asked for
		MinQuorum:                 3,
		GCInterval:                30 * time.Second,
		Retention:                 time.Hour,
		JobHistory:                fsm.DefaultHistoryLimit,
		Quotas:                    DefaultQuotas(),
		Raft: RaftTuning{
			HeartbeatTimeout:   250 * time.Millisecond,
			ElectionTimeout:    250 * time.Millisecond,
			LeaderLeaseTimeout: 250 * time.Millisecond,
			CommitTimeout:      5 * time.Millisecond,
			ApplyTimeout:       10 * time.Second,
			SnapshotInterval:   30 * time.Second,
			SnapshotThreshold:  8192,
			TrailingLogs:       10240,
		},
		Worker: WorkerSettings{
			BusyWait:          time.Second,
			HeartbeatInterval: 2 * time.Second, // the lease is 3 of these plus 2s
			AutoPause:         5 * time.Second,
		},
		Limits:        defaultLimits(),
		RaftLogFormat: RaftLogBolt,
	}
}

func (c *Config) setDefaults() {
	d := DefaultConfig()
	orDefault(&c.NodeID, d.NodeID)
	orDefault(&c.APIAddr, d.APIAddr)
	orDefault(&c.Function, d.Function)
	orDefault(&c.JoinTimeout, d.JoinTimeout)
	orDefault(&c.GCInterval, d.GCInterval)
	orDefault(&c.Retention, d.Retention)
	orDefault(&c.JobHistory, d.JobHistory)
	orDefault(&c.LambdaTimeout, d.LambdaTimeout)
	c.Quotas.setDefaults(d.Quotas)
	orDefault(&c.MinQuorum, d.MinQuorum)
	orDefault(&c.RaftLogFormat, d.RaftLogFormat)
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	// Lines logged for an API call carry its request id (requestid.go).
	c.Logger = slog.New(logging.WithRequestIDs(c.Logger.Handler()))
	r, dr := &c.Raft, d.Raft
	orDefault(&r.HeartbeatTimeout, dr.HeartbeatTimeout)
	orDefault(&r.ElectionTimeout, dr.ElectionTimeout)
	orDefault(&r.LeaderLeaseTimeout, dr.LeaderLeaseTimeout)
	orDefault(&r.CommitTimeout, dr.CommitTimeout)
	orDefault(&r.ApplyTimeout, dr.ApplyTimeout)
	orDefault(&r.SnapshotInterval, dr.SnapshotInterval)
	orDefault(&r.SnapshotThreshold, dr.SnapshotThreshold)
	orDefault(&r.TrailingLogs, dr.TrailingLogs)
	w, dw := &c.Worker, d.Worker
	orDefault(&w.BusyWait, dw.BusyWait)
	orDefault(&w.HeartbeatInterval, dw.HeartbeatInterval)
	orDefault(&w.AutoPause, dw.AutoPause)
	c.Limits.setDefaults()
}

// orDefault sets *v to d when *v is its zero value.
func orDefault[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

// Node is a running coordinator node.
type Node struct {
	cfg       Config
	log       *slog.Logger
	raft      *raft.Raft
	logStore  *raftboltdb.BoltStore // term and vote, and the log in the Bolt format
	walStore  io.Closer             // the log in the WAL format (raftlog.go), else nil
	disk      *diskGuard
	writeBack *writeBack // only with Unsafe.NoFsync
	replica   *replica
	proposer  *proposer
	forwarder *forwarder
	authz     *authz
	leases    *leases
	metrics   *metrics
	platform  *platformHealth
	// invocationLogs remembers the invocations this node launched as leader.
	invocationLogs invocationLogs
	grpc           *grpc.Server
	listener       net.Listener
	// peerCreds dial other nodes' APIs with this node's certificate (nil:
	// plaintext).
	peerCreds credentials.TransportCredentials

	hadState bool
	trans    raft.Transport
	// restored is the backup this node started from (nil: none).
	restored *backup.Backup
	// dead tracks followers the leader fails to reach (cleanup.go).
	dead *deadServers

	// fatal receives the one error that stops this node for good (a log
	// entry newer than this build knows); see Fatal.
	fatal chan error

	// draining asks on-coordinator tasks to yield (before a planned
	// leadership transfer).
	draining atomic.Bool
	// drainNow wakes drainWatch (this leader was just drained).
	drainNow chan struct{}
	// raftLog is hashicorp/raft's logger, kept to change its level.
	raftLog hclog.Logger

	gcMu sync.Mutex
	gc   GCStats
	// gcHoldUntil (unix ns): no garbage is collected before it (a backup
	// asked; see holdGC).
	gcHoldUntil atomic.Int64
	// storeID is the identity of this node's checkpoint store (see
	// checkpoint.Identity).
	storeID string

	drill drillState
	// ui is the dashboard (nil without Config.UIAddr).
	ui     *uiServer
	uiAddr string

	mu           sync.Mutex
	leaderCancel context.CancelFunc
	done         chan struct{}
	wg           sync.WaitGroup
	closeOnce    sync.Once
}

// Start opens the node's Raft state, starts its services and, once it is
// leader, its leader loops.
func Start(cfg Config) (*Node, error) {
	cfg.setDefaults()
	if cfg.DataDir == "" {
		return nil, errors.New("node: --data-dir is required")
	}
	if cfg.Invoker == nil || cfg.Store == nil {
		return nil, errors.New("node: an invoker and a checkpoint store are required")
	}
	if cfg.Keys == nil {
		return nil, errors.New("node: a cluster key file is required (--cluster-key-file; make one with `kappa keys generate FILE`)")
	}
	if cfg.WorkerStore == "" {
		if checkpoint.HasPassword(cfg.Store.URL()) {
			return nil, errors.New("node: the store has a password, and workers must not get the nodes' credential: set Config.WorkerStore to the workers' own")
		}
		cfg.WorkerStore = cfg.Store.URL()
	}
	if err := securePaths(cfg.DataDir, cfg.Logger.With("node", cfg.NodeID)); err != nil {
		return nil, err
	}
	if err := ValidRaftLogFormat(cfg.RaftLogFormat); err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	// Raft refuses it too, but only once the node is half started and in
	// its own words.
	if r := cfg.Raft; r.LeaderLeaseTimeout > r.HeartbeatTimeout {
		return nil, fmt.Errorf("node: --leader-lease-timeout (%s) cannot be above --heartbeat-timeout (%s): raise the heartbeat timeout with it", r.LeaderLeaseTimeout, r.HeartbeatTimeout)
	}
	if err := cfg.Limits.check(); err != nil {
		return nil, err
	}
	storeID, err := checkpoint.Identity(cfg.Store.URL())
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	n := &Node{cfg: cfg, log: cfg.Logger.With("node", cfg.NodeID), replica: newReplica(cfg.Unsafe.FSM), leases: newLeases(), done: make(chan struct{}),
		platform: &platformHealth{window: cfg.LambdaUnreachableStepDown}, fatal: make(chan error, 1), drainNow: make(chan struct{}, 1),
		storeID: storeID, dead: newDeadServers()}
	n.replica.m.SetMaxVersion(cfg.MaxCommandVersion)
	n.replica.onHalt = n.halt
	n.metrics = newMetrics(n)
	n.cfg.Store = meteredStore{Store: cfg.Store, m: n.metrics}
	n.replica.snapshotTaken, n.replica.restored = n.metrics.snapshotTaken, n.metrics.restores.Inc
	apiCreds, err := n.apiCredentials()
	if err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", cfg.APIAddr)
	if err != nil {
		return nil, fmt.Errorf("node: cannot listen on API address %s: %w", cfg.APIAddr, err)
	}
	n.listener = lis
	if n.authz, err = newAuthz(n); err != nil {
		lis.Close()
		return nil, err
	}
	if err := n.openRaft(); err != nil {
		lis.Close()
		return nil, err
	}
	if cfg.PerNodeStore && cfg.Join != "" && !n.hadState {
		n.raft.Shutdown()
		if n.walStore != nil {
			n.walStore.Close()
		}
		n.logStore.Close()
		lis.Close()
		return nil, fmt.Errorf("node: this node keeps its checkpoints in its own data dir (%s, the default without --store), "+
			"which the cluster's other nodes cannot see: start it with the cluster's --store to join it (%s)", storeID, storeDoc)
	}
	n.metrics.observeRaft(n.raft, n.done)
	n.proposer = newProposer(n.raft, cfg.Raft.ApplyTimeout, cfg.Limits.EntryBytes, n.metrics, n.clusterVersion)
	n.proposer.quotas = cfg.Quotas.stamp()
	n.proposer.clock = n.replica.clusterClock
	n.proposer.wallOffset = cfg.TestClockOffset
	n.forwarder = newForwarder(n)
	chain := []grpc.UnaryServerInterceptor{requestIDUnary, n.authz.unary, n.forwarder.intercept}
	if cfg.TestInterceptor != nil {
		chain = append(chain, cfg.TestInterceptor)
	}
	// gRPC refuses a message over RequestBytes from its length prefix,
	// before reading its body.
	n.grpc = grpc.NewServer(append(apiCreds, grpc.MaxRecvMsgSize(cfg.Limits.RequestBytes), grpc.MaxSendMsgSize(maxMsg),
		grpc.ChainUnaryInterceptor(chain...), grpc.ChainStreamInterceptor(requestIDStream, n.authz.stream))...)
	wire.RegisterTaskServiceServer(n.grpc, &taskAPI{n: n})
	wire.RegisterClientServiceServer(n.grpc, &clientAPI{n: n})
	wire.RegisterAdminServiceServer(n.grpc, &adminAPI{n: n})
	wire.RegisterDrillServiceServer(n.grpc, &drillAPI{n: n})
	n.serveHealth()
	// The restored snapshot holds the key configuration this node last
	// knew: a key file that disagrees with it is refused now (keyWatch
	// checks what later entries bring).
	if mismatch, loadErr := n.checkKeyFile(); mismatch != nil || loadErr != nil {
		n.Close()
		lis.Close()
		return nil, errors.Join(mismatch, loadErr)
	}
	n.wg.Add(4)
	go func() { defer n.wg.Done(); n.watchStore() }()
	go func() {
		defer n.wg.Done()
		if err := n.grpc.Serve(lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			n.log.Error("API server stopped", "err", err)
		}
	}()
	go func() { defer n.wg.Done(); n.keepClusterID() }()
	go n.keyWatch()
	if cfg.UIAddr != "" {
		if err := n.startUI(); err != nil {
			n.Close()
			return nil, err
		}
	}
	if cfg.Join != "" {
		if err := n.join(cfg.Join); err != nil {
			n.Close()
			return nil, err
		}
	}
	return n, nil
}

// apiCredentials are the API server's TLS (none without Certs).
func (n *Node) apiCredentials() ([]grpc.ServerOption, error) {
	if n.cfg.Certs == nil {
		return nil, nil
	}
	tlsCfg, err := n.cfg.Certs.ServerConfig(tlsconf.NodePair, tls.VerifyClientCertIfGiven)
	if err != nil {
		return nil, fmt.Errorf("node: the API's certificate: %w", err)
	}
	n.peerCreds, err = n.cfg.Certs.Credentials(tlsconf.ClientOptions{Pair: &tlsconf.NodePair, ServerRole: tlsconf.RoleNode})
	if err != nil {
		return nil, fmt.Errorf("node: the API's certificate: %w", err)
	}
	return []grpc.ServerOption{grpc.Creds(credentials.NewTLS(tlsCfg))}, nil
}

func (n *Node) openRaft() error {
	dir := filepath.Join(n.cfg.DataDir, "raft")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("node: cannot create data dir %s: %w", dir, err)
	}
	if err := checkRaftFiles(n.cfg.NodeID, dir); err != nil {
		return err
	}
	// The freelist is rebuilt on open instead of written with every
	// commit (as etcd does): smaller writes per log entry, and the log
	// stays small because snapshots truncate it.
	store, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dir, "raft.db"), NoSync: n.cfg.Unsafe.NoFsync,
		BoltOptions: &bbolt.Options{Timeout: time.Second, NoFreelistSync: true, FreelistType: bbolt.FreelistMapType}})
	if err != nil {
		return fmt.Errorf("node: opening the Raft log in %s: %w", dir, err)
	}
	n.logStore = store
	files, err := raft.NewFileSnapshotStore(dir, 2, io.Discard)
	if err != nil {
		store.Close()
		return fmt.Errorf("node: opening the snapshot store in %s: %w", dir, err)
	}
	// raft makes its snapshots dir 0755 at every start.
	if err := os.Chmod(filepath.Join(dir, "snapshots"), 0o700); err != nil {
		store.Close()
		return fmt.Errorf("node: %w", err)
	}
	snaps := privateSnapshots{files, filepath.Join(dir, "snapshots")}
	trans := n.cfg.Transport
	if trans == nil {
		_, trans = raft.NewInmemTransport(raft.ServerAddress(n.cfg.NodeID))
	}
	n.trans = trans
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(n.cfg.NodeID)
	rc.HeartbeatTimeout = n.cfg.Raft.HeartbeatTimeout
	rc.ElectionTimeout = n.cfg.Raft.ElectionTimeout
	rc.LeaderLeaseTimeout = n.cfg.Raft.LeaderLeaseTimeout
	rc.CommitTimeout = n.cfg.Raft.CommitTimeout
	rc.SnapshotThreshold = n.cfg.Raft.SnapshotThreshold
	rc.SnapshotInterval = n.cfg.Raft.SnapshotInterval
	rc.TrailingLogs = n.cfg.Raft.TrailingLogs
	rc.MaxAppendEntries = maxAppendEntries(n.cfg.Limits.EntryBytes)
	notify := make(chan bool, 16)
	rc.NotifyCh = notify
	level := hclog.LevelFromString(n.cfg.RaftLogLevel)
	if level == hclog.NoLevel {
		level = hclog.Warn
	}
	if n.cfg.RaftLog != nil {
		n.raftLog = hclog.New(&hclog.LoggerOptions{Name: "raft." + n.cfg.NodeID, Level: level, Output: n.cfg.RaftLog})
	} else {
		n.raftLog = logging.NewHclog(n.log, "raft", level)
	}
	rc.Logger = n.raftLog

	logs, walStore, err := n.openLogStore(dir, store)
	if err != nil {
		store.Close()
		return err
	}
	n.walStore = walStore
	closeStores := func() {
		if walStore != nil {
			walStore.Close()
		}
		store.Close()
	}
	has, err := raft.HasExistingState(logs, store, snaps)
	if err != nil {
		closeStores()
		return fmt.Errorf("node: reading Raft state in %s: %w", dir, err)
	}
	n.hadState = has
	if n.cfg.ForceNewCluster || n.cfg.Restore != "" {
		if err := n.startAlone(rc, logs, store, snaps, has); err != nil {
			closeStores()
			return err
		}
	}
	if n.cfg.Bootstrap {
		if !has {
			boot := raft.Configuration{Servers: []raft.Server{{ID: rc.LocalID, Address: trans.LocalAddr()}}}
			if err := raft.BootstrapCluster(rc, logs, store, snaps, trans, boot); err != nil {
				closeStores()
				return fmt.Errorf("node: bootstrapping: %w", err)
			}
		}
	}
	if n.cfg.Unsafe.NoFsync {
		wb := newWriteBack(store)
		n.writeBack, logs = wb, wb
	}
	n.disk = newDiskGuard(n.cfg.DataDir, dir, n.log, n.done)
	// Raft reads every entry back right after writing it: the leader to
	// send it to each follower, every node to apply it once committed. The
	// cache answers those reads from memory instead of a Bolt transaction
	// and a decode each; it sits outside the guard so the guard sees the
	// store's own errors.
	cached, err := raft.NewLogCache(logCacheEntries(n.cfg.Limits.EntryBytes), guardedLogs{logs, n.disk})
	if err != nil {
		closeStores()
		return fmt.Errorf("node: %w", err)
	}
	r, err := raft.NewRaft(rc, n.replica, cached, guardedStable{store, n.disk}, guardedSnapshots{snaps, n.disk}, trans)
	if err != nil {
		closeStores()
		return fmt.Errorf("node: starting Raft: %w", err)
	}
	// A heartbeat may skip raft's queue only to confirm the leader this
	// node follows (raftgrpc's SetHeartbeatShortcut says why).
	if t, ok := trans.(interface{ SetHeartbeatShortcut(func(uint64) bool) }); ok {
		t.SetHeartbeatShortcut(raftgrpc.FollowerIn(r))
	}
	n.raft = r
	n.disk.raft.Store(r)
	if err := n.checkRestored(); err != nil {
		r.Shutdown()
		closeStores()
		return err
	}
	n.wg.Add(2)
	go n.watchLeadership(notify)
	go n.watchHeartbeats(r)
	return nil
}

// Fatal delivers the error that stopped this node for good: the node
// halted its state machine rather than apply something it does not know.
// The process should exit with it and not be restarted unchanged.
func (n *Node) Fatal() <-chan error { return n.fatal }

// halt is called once, from Raft's apply goroutine, when the replica
// refused an entry: it stops Raft so this node neither votes nor applies,
// and reports the error.
func (n *Node) halt(err error) {
	n.log.Error("stopping: this node cannot apply the replicated log", "err", err)
	select {
	case n.fatal <- err:
	default:
	}
	go func() {
		n.stepDown()
		n.raft.Shutdown()
	}()
}

// APIAddr is the address the gRPC services listen on.
func (n *Node) APIAddr() string { return n.listener.Addr().String() }

// Raft exposes the node's Raft instance (for status and tests).
func (n *Node) Raft() *raft.Raft { return n.raft }

func (n *Node) isLeader() bool { return n.raft.State() == raft.Leader }

// leaderAPIAddr names the leader's API address, as far as this node knows.
func (n *Node) leaderAPIAddr() string {
	if n.isLeader() {
		return n.APIAddr()
	}
	// The member table maps the leader's id to its API address (raft
	// knows only its Raft address).
	if addr, err := n.leaderAPI(); err == nil {
		return addr
	}
	return "unknown"
}

// WaitLeader waits until this node is leader and its leader loops run.
func (n *Node) WaitLeader(ctx context.Context) error {
	for {
		n.mu.Lock()
		ready := n.leaderCancel != nil
		n.mu.Unlock()
		if ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %s: no leadership: %w", n.cfg.NodeID, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Close stops the node: leader loops, API server, Raft, and the log store.
func (n *Node) Close() error {
	var err error
	n.closeOnce.Do(func() {
		close(n.done)
		n.stepDown()
		if n.ui != nil {
			n.ui.close()
		}
		n.grpc.Stop()
		n.proposer.close()
		n.forwarder.close()
		if e := n.raft.Shutdown().Error(); e != nil {
			err = fmt.Errorf("node: raft shutdown: %w", e)
		}
		n.wg.Wait()
		if n.writeBack != nil {
			n.writeBack.close()
			n.writeBack.flush()
		}
		if n.walStore != nil {
			if e := n.walStore.Close(); e != nil && err == nil {
				err = e
			}
		}
		if e := n.logStore.Close(); e != nil && err == nil {
			err = e
		}
	})
	return err
}
