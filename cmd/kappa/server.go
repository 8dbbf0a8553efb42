package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/raft"
	"github.com/spf13/cobra"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/node"
	"github.com/kappa-serverless/kappa/transport/raftgrpc"
)

type serverOptions struct {
	config      string
	nodeID      string
	dataDir     string
	raftAddr    string
	apiAddr     string
	bootstrap   bool
	join        string
	joinTimeout time.Duration
	waitJoin    bool
	gcInterval  time.Duration
	retention   time.Duration
	store       string
	workers     string
	logLevel    string
	metricsAddr string
	tlsCert     string
	tlsKey      string
	tlsCA       string
	raft        node.RaftTuning
	// Test-only (hidden): a fault-injecting proxy in front of the Raft
	// port, and guarantees switched off on purpose.
	raftAdvertise string
	raftSourceIP  string
	unsafeFaults  []string
	stepDown      time.Duration
	// Test-only (hidden): act as an older build (rolling-upgrade tests).
	maxCommandVersion uint32
	worker            node.WorkerSettings
	lambda            lambdaOptions
}

func newServerCmd() *cobra.Command {
	var o serverOptions
	cmd := &cobra.Command{
		Use:   "server --node-id ID --data-dir DIR --raft-addr HOST:PORT --api-addr HOST:PORT (--bootstrap | --join API_ADDR)",
		Short: "Run one coordinator node",
		Long: `Runs one node of a Kappa coordinator cluster. The first node of a new
cluster starts with --bootstrap; every other node with --join and the API
address of any member. A node restarted from its data dir needs neither.
Every flag can also come from --config FILE (YAML, keys are flag names) or
from the environment as KAPPA_<FLAG> (e.g. KAPPA_DATA_DIR).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyConfig(cmd.Flags(), o.config); err != nil {
				return usageError("%v", err)
			}
			return serve(o)
		},
	}
	f := cmd.Flags()
	d := node.DefaultConfig()
	f.StringVar(&o.config, "config", "", "YAML file with settings (keys are flag names)")
	f.StringVar(&o.nodeID, "node-id", "", "this node's id, stable across restarts (required)")
	f.StringVar(&o.dataDir, "data-dir", "", "Raft log, snapshots and cluster id live here (required)")
	// Well-known ports (dev-cluster counts from them), not the in-process
	// node's free port.
	f.StringVar(&o.raftAddr, "raft-addr", "127.0.0.1:7100", "address other nodes reach this node's Raft at")
	f.StringVar(&o.apiAddr, "api-addr", "127.0.0.1:7000", "address of the task, client and admin APIs")
	f.BoolVar(&o.bootstrap, "bootstrap", false, "start a new cluster with this node as its first voter")
	f.StringVar(&o.join, "join", "", "join the cluster that has a member at this API address")
	f.DurationVar(&o.joinTimeout, "join-timeout", d.JoinTimeout, "give up joining after this long")
	f.BoolVar(&o.waitJoin, "wait-join", false, "start without a cluster and wait for `kappa cluster join` to add this node")
	f.StringVar(&o.store, "store", "", "checkpoint store URL shared by the whole cluster (default file://DATA_DIR/store, single-node only)")
	f.StringVar(&o.workers, "worker-coordinators", "", "API addresses handed to lambdas (default: every member's)")
	f.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&o.metricsAddr, "metrics-addr", "", "serve Prometheus metrics (/metrics) and Go profiles (/debug/pprof/) here; empty: off")
	f.StringVar(&o.tlsCert, "tls-cert", "", "certificate for mutual TLS between nodes (PEM)")
	f.StringVar(&o.tlsKey, "tls-key", "", "its private key (PEM)")
	f.StringVar(&o.tlsCA, "tls-ca", "", "CA that signs every node's certificate (PEM)")
	f.DurationVar(&o.raft.HeartbeatTimeout, "heartbeat-timeout", d.Raft.HeartbeatTimeout, "Raft heartbeat timeout")
	f.DurationVar(&o.raft.ElectionTimeout, "election-timeout", d.Raft.ElectionTimeout, "Raft election timeout")
	f.DurationVar(&o.raft.LeaderLeaseTimeout, "leader-lease-timeout", d.Raft.LeaderLeaseTimeout, "Raft leader lease timeout")
	f.Uint64Var(&o.raft.SnapshotThreshold, "snapshot-threshold", d.Raft.SnapshotThreshold, "log entries between snapshots")
	f.DurationVar(&o.raft.SnapshotInterval, "snapshot-interval", d.Raft.SnapshotInterval, "how often to check whether a snapshot is due")
	f.Uint64Var(&o.raft.TrailingLogs, "trailing-logs", d.Raft.TrailingLogs, "log entries kept after a snapshot (for followers catching up)")
	f.DurationVar(&o.worker.HeartbeatInterval, "worker-heartbeat", d.Worker.HeartbeatInterval, "how often tasks heartbeat; the lease is 3 of these plus 2s")
	f.DurationVar(&o.worker.BusyWait, "busy-wait", d.Worker.BusyWait, "how long a blocked task polls before it parks")
	f.DurationVar(&o.worker.AutoPause, "auto-checkpoint", d.Worker.AutoPause, "automatic checkpoint interval")
	f.DurationVar(&o.gcInterval, "gc-interval", d.GCInterval, "how often the leader deletes checkpoints nothing refers to")
	f.DurationVar(&o.retention, "retention", d.Retention, "how long a finished job's result, state and checkpoints are kept")
	f.DurationVar(&o.stepDown, "lambda-unreachable-stepdown", d.LambdaUnreachableStepDown, "a leader that cannot reach the lambda platform for this long hands leadership to another node (0: never)")
	f.StringVar(&o.raftAdvertise, "test-raft-advertise", "", "tests: the address peers reach this node's Raft at (a proxy), when it differs from --raft-addr")
	f.StringVar(&o.raftSourceIP, "test-raft-source-ip", "", "tests: the local address dials to peers leave from")
	f.StringSliceVar(&o.unsafeFaults, "unsafe-test-fault", nil, "tests: break a guarantee on purpose ("+strings.Join(node.UnsafeNames, ", ")+"); needs "+node.UnsafeEnv+"=1")
	f.Uint32Var(&o.maxCommandVersion, "test-command-version", 0, "tests: apply command versions up to this one only, as an older build would")
	for _, hidden := range []string{"test-raft-advertise", "test-raft-source-ip", "unsafe-test-fault", "test-command-version"} {
		f.MarkHidden(hidden)
	}
	o.lambda.register(cmd)
	return cmd
}

func serve(o serverOptions) error {
	unsafe, err := node.ParseUnsafe(o.unsafeFaults)
	if err != nil {
		return usageError("%v", err)
	}
	if o.stepDown < 0 {
		return usageError("--lambda-unreachable-stepdown must not be negative (0 turns it off), got %s", o.stepDown)
	}
	if o.nodeID == "" || o.dataDir == "" {
		return usageError("--node-id and --data-dir are required")
	}
	if o.bootstrap && o.join != "" {
		return usageError("--bootstrap and --join exclude each other: bootstrap the first node, join the others")
	}
	hasState := fileExists(filepath.Join(o.dataDir, "raft", "raft.db"))
	if !hasState && !o.bootstrap && o.join == "" && !o.waitJoin {
		return usageError("data dir %s holds no cluster yet: pass --bootstrap (first node), --join API_ADDR (any member), or --wait-join (then add it with `kappa cluster join`)", o.dataDir)
	}
	// Local lambdas and on-coordinator tasks are processes of this node.
	if err := checkWorkerPython(pythonPath(o.lambda.python)); err != nil {
		return err
	}
	logger := newLogger(o.logLevel)
	if len(o.unsafeFaults) > 0 {
		logger.Warn("UNSAFE test faults on: this node breaks guarantees on purpose", "faults", o.unsafeFaults)
	}
	advertise := o.raftAdvertise
	if advertise == "" {
		advertise = o.raftAddr
	}
	if o.store == "" {
		o.store = "file://" + filepath.Join(absPath(o.dataDir), "store")
	}
	store, err := checkpoint.Open(o.store)
	if err != nil {
		return usageError("%v", err)
	}
	tlsCfg, err := loadTLS(o.tlsCert, o.tlsKey, o.tlsCA)
	if err != nil {
		return usageError("%v", err)
	}
	trans, err := raftgrpc.New(raftgrpc.Config{LocalAddr: raft.ServerAddress(advertise), TLS: tlsCfg, SourceIP: o.raftSourceIP,
		HeartbeatTimeout: o.raft.HeartbeatTimeout, Logger: logger})
	if err != nil {
		return err
	}
	if err := trans.Listen(o.raftAddr); err != nil {
		return fmt.Errorf("cannot listen on --raft-addr %s: %w", o.raftAddr, err)
	}
	o.lambda.logger = logger
	lam, err := startLambdas(o.lambda)
	if err != nil {
		trans.Close()
		return err
	}
	defer lam.close()
	var workers []string
	if o.workers != "" {
		workers = strings.Split(o.workers, ",")
	}
	n, err := node.Start(node.Config{
		NodeID: o.nodeID, DataDir: o.dataDir, APIAddr: o.apiAddr, Bootstrap: o.bootstrap, Join: o.join, JoinTimeout: o.joinTimeout,
		Transport: trans, Invoker: lam.invoker, CoordinatorInvoker: lam.coordinator, MaxInvocations: o.lambda.concurrency, Function: o.lambda.function, LambdaTimeout: o.lambda.timeout,
		LambdaUnreachableStepDown: o.stepDown,
		Store:                     store, Raft: o.raft, Worker: o.worker, Logger: logger, RaftLog: os.Stderr, RaftLogLevel: o.logLevel,
		WorkerCoordinators: workers, GCInterval: o.gcInterval, Retention: o.retention, Unsafe: unsafe,
		MaxCommandVersion: o.maxCommandVersion,
	})
	if err != nil {
		trans.Close()
		return err
	}
	if o.metricsAddr != "" {
		if err := serveMetrics(o.metricsAddr, n, logger); err != nil {
			n.Close()
			return err
		}
	}
	logger.Info("node running", "id", o.nodeID, "raft", o.raftAddr, "api", n.APIAddr(), "store", store.URL(), "lambda", o.lambda.backend)
	ctx, stop := signalContext()
	defer stop()
	select {
	case <-ctx.Done():
		logger.Info("shutting down")
		return n.Close()
	case err := <-n.Fatal():
		n.Close()
		return fmt.Errorf("node %s stopped: %w", o.nodeID, err)
	}
}

func loadTLS(cert, key, ca string) (*tls.Config, error) {
	if cert == "" && key == "" && ca == "" {
		return nil, nil
	}
	if cert == "" || key == "" || ca == "" {
		return nil, errors.New("mutual TLS needs all of --tls-cert, --tls-key and --tls-ca")
	}
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return nil, fmt.Errorf("loading --tls-cert/--tls-key: %w", err)
	}
	pem, err := os.ReadFile(ca)
	if err != nil {
		return nil, fmt.Errorf("reading --tls-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--tls-ca %s holds no PEM certificate", ca)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: pool, ClientCAs: pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}, nil
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// serveMetrics serves the node's Prometheus metrics and net/http/pprof.
func serveMetrics(addr string, n *node.Node, logger *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--metrics-addr %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", n.MetricsHandler())
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go http.Serve(ln, mux)
	logger.Warn("serving metrics and profiles", "metrics", ln.Addr().String())
	return nil
}
