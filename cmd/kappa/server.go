package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/raft"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/fsm"
	"github.com/kappa-serverless/kappa/node"
	"github.com/kappa-serverless/kappa/node/logging"
	"github.com/kappa-serverless/kappa/transport/raftgrpc"
	"github.com/kappa-serverless/kappa/transport/tlsconf"
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
	jobHistory  int
	secrets     secretOptions
	workers     string
	logLevel    string
	logFormat   string
	metricsAddr string
	uiAddr      string
	pprof       bool
	certsDir    string
	insecure    bool
	tokenFile   string
	raft        node.RaftTuning
	raftLog     string

	// Starting a new cluster from one node: a backup, or this node's own
	// state after lost quorum; and removing dead voters.
	restore         string
	forceNewCluster bool
	deadServerAfter time.Duration
	minQuorum       int

	// Test-only (hidden): a fault-injecting proxy in front of the Raft
	// port, and guarantees switched off on purpose.
	raftAdvertise string
	raftSourceIP  string
	unsafeFaults  []string
	stepDown      time.Duration
	// shutdownTimeout bounds a planned stop's hand-over (SIGTERM).
	shutdownTimeout time.Duration
	// reload re-reads --config on SIGHUP.
	reload *reloader
	// Test-only (hidden): act as an older build (rolling-upgrade tests),
	// and a wall clock that is wrong.
	maxCommandVersion uint32
	clockOffset       time.Duration
	quotas            node.Quotas
	worker            node.WorkerSettings
	limits            node.Limits
	lambda            lambdaOptions
}

func newServerCmd() *cobra.Command {
	var o serverOptions
	cmd := &cobra.Command{
		Use:   "server --node-id ID --data-dir DIR --certs-dir DIR --raft-addr HOST:PORT --api-addr HOST:PORT (--bootstrap | --join API_ADDR)",
		Short: "Run one coordinator node",
		Long: `Runs one node of a Kappa coordinator cluster. The first node of a new
cluster starts with --bootstrap; every other node with --join and the API
address of any member. A node restarted from its data dir needs neither.
Every port speaks TLS with the node's certificate from --certs-dir (ca.crt,
node.crt, node.key; kappa cert create-node), and the Raft port takes only
peers holding the node certificate of the id they speak for. --insecure
serves plaintext without any of that, for development on loopback.
Every flag can also come from --config FILE (YAML, keys are flag names) or
from the environment as KAPPA_<FLAG> (e.g. KAPPA_DATA_DIR).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.reload = newReloader(cmd.Flags(), o.config)
			if err := applyConfig(cmd.Flags(), o.config); err != nil {
				return usageError("%v", err)
			}
			dropSecretEnvironment()
			return serve(o, cmd.Flags())
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
	o.secrets.register(f)
	f.StringVar(&o.restore, "restore", "", "start a new cluster from this backup file (`kappa backup save`), with an empty data dir and --force-new-cluster")
	f.BoolVar(&o.forceNewCluster, "force-new-cluster", false,
		"make this node the only voter of a new cluster: from --restore FILE, or from its own data dir after the cluster lost quorum; the other nodes join it with empty data dirs")
	f.DurationVar(&o.deadServerAfter, "dead-server-after", d.DeadServerAfter, "the leader removes a voter it has not reached for this long (0: never)")
	f.IntVar(&o.minQuorum, "min-quorum", d.MinQuorum, "dead-server cleanup never leaves fewer voters than this")
	f.StringVar(&o.workers, "worker-coordinators", "", "API addresses handed to lambdas (default: every member's)")
	f.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&o.logFormat, "log-format", "text", "text or json (one object a line: time, level, msg, then fields), for every line the node writes, Raft's and gRPC's included")
	f.StringVar(&o.uiAddr, "ui-addr", d.UIAddr, "serve the web dashboard here (HTTPS with the node's certificate; a client certificate or a token signs in, as on the API); empty: off")
	f.StringVar(&o.metricsAddr, "metrics-addr", "", "serve Prometheus metrics (/metrics) here, over TLS to clients with a certificate of the cluster; empty: off")
	f.BoolVar(&o.pprof, "pprof", false, "also serve Go profiles (/debug/pprof/) on --metrics-addr, to admin certificates only")
	f.StringVar(&o.certsDir, "certs-dir", "", "this node's certs dir: ca.crt, node.crt, node.key (kappa cert create-node); required unless --insecure")
	f.BoolVar(&o.insecure, "insecure", false, "serve the API, Raft and metrics in plaintext without authentication (development, loopback Raft addresses only)")
	f.StringVar(&o.tokenFile, "token-file", "", "bearer tokens clients may present, one `sha256-hex role name` line each (kappa token create); re-read when it changes")
	f.DurationVar(&o.raft.HeartbeatTimeout, "heartbeat-timeout", d.Raft.HeartbeatTimeout, "Raft heartbeat timeout")
	f.DurationVar(&o.raft.ElectionTimeout, "election-timeout", d.Raft.ElectionTimeout, "Raft election timeout")
	f.DurationVar(&o.raft.LeaderLeaseTimeout, "leader-lease-timeout", d.Raft.LeaderLeaseTimeout, "Raft leader lease timeout")
	f.StringVar(&o.raftLog, "raft-log-format", d.RaftLogFormat, "the Raft log's on-disk format for a new data dir: bolt, or wal (one fsync per append instead of two: faster commits); an existing data dir keeps its own")
	f.Uint64Var(&o.raft.SnapshotThreshold, "snapshot-threshold", d.Raft.SnapshotThreshold, "log entries between snapshots")
	f.DurationVar(&o.raft.SnapshotInterval, "snapshot-interval", d.Raft.SnapshotInterval, "how often to check whether a snapshot is due")
	f.Uint64Var(&o.raft.TrailingLogs, "trailing-logs", d.Raft.TrailingLogs, "log entries kept after a snapshot (for followers catching up)")
	f.DurationVar(&o.worker.HeartbeatInterval, "worker-heartbeat", d.Worker.HeartbeatInterval, "how often tasks heartbeat; the lease is 3 of these plus 2s")
	f.DurationVar(&o.worker.BusyWait, "busy-wait", d.Worker.BusyWait, "how long a blocked task polls before it parks")
	f.DurationVar(&o.worker.AutoPause, "auto-checkpoint", d.Worker.AutoPause, "automatic checkpoint interval")
	f.DurationVar(&o.gcInterval, "gc-interval", d.GCInterval, "how often the leader deletes checkpoints nothing refers to")
	f.DurationVar(&o.retention, "retention", d.Retention, "how long a finished job's result, state and checkpoints are kept (then its record goes to the archive)")
	f.IntVar(&o.jobHistory, "job-history", d.JobHistory, fmt.Sprintf("events each job's history keeps; older ones are dropped and counted (1 to %d)", fsm.MaxHistoryLimit))
	f.Uint64Var(&o.quotas.MaxTasksPerJob, "max-tasks-per-job", d.Quotas.MaxTasksPerJob, "quota: tasks one job may create; a spawn beyond it raises QuotaExceeded in the program")
	f.Uint64Var(&o.quotas.MaxQueueItemsPerJob, "max-queue-items-per-job", d.Quotas.MaxQueueItemsPerJob, "quota: items one job's queues may hold at once; an enqueue beyond it raises QuotaExceeded in the program")
	f.Uint64Var(&o.quotas.MaxRunningPerJob, "max-running-per-job", d.Quotas.MaxRunningPerJob, "quota: lambdas one job may run at once (its other tasks wait their turn)")
	f.Uint64Var(&o.quotas.MaxLiveJobs, "max-live-jobs", d.Quotas.MaxLiveJobs, "quota: jobs the cluster runs at once; a submit beyond it is refused")
	f.Uint64Var(&o.quotas.MaxLiveJobsPerSubmitter, "max-live-jobs-per-submitter", d.Quotas.MaxLiveJobsPerSubmitter, "quota: jobs one submitter (a certificate's or token's name) runs at once; a submit beyond it is refused")
	f.DurationVar(&o.stepDown, "lambda-unreachable-stepdown", d.LambdaUnreachableStepDown, "a leader that cannot reach the lambda platform for this long hands leadership to another node (0: never)")
	f.DurationVar(&o.shutdownTimeout, "shutdown-timeout", d.ShutdownTimeout, "on SIGTERM a leader drains its on-coordinator tasks and hands leadership over within this long before it stops (0: stop at once)")
	registerLimits(f, &o.limits)
	f.StringVar(&o.raftAdvertise, "test-raft-advertise", "", "tests: the address peers reach this node's Raft at (a proxy), when it differs from --raft-addr")
	f.StringVar(&o.raftSourceIP, "test-raft-source-ip", "", "tests: the local address dials to peers leave from")
	f.StringSliceVar(&o.unsafeFaults, "unsafe-test-fault", nil, "tests: break a guarantee on purpose ("+strings.Join(node.UnsafeNames, ", ")+"); needs "+node.UnsafeEnv+"=1")
	f.Uint32Var(&o.maxCommandVersion, "test-command-version", 0, "tests: apply command versions up to this one only, as an older build would")
	f.DurationVar(&o.clockOffset, "test-clock-offset", 0, "tests: run this node's wall clock this far ahead (negative: behind)")
	for _, hidden := range []string{"test-raft-advertise", "test-raft-source-ip", "unsafe-test-fault", "test-command-version", "test-clock-offset"} {
		f.MarkHidden(hidden)
	}
	o.lambda.register(cmd)
	o.lambda.creds.register(f, "with --lambda https://…, invocations are signed with it")
	return cmd
}

// serverCerts loads --certs-dir and checks node.crt names this node, or,
// with --insecure, checks that plaintext Raft stays on loopback.
func serverCerts(o serverOptions, advertise string) (*tlsconf.Certs, error) {
	switch {
	case o.insecure && o.certsDir != "":
		return nil, usageError("--insecure and --certs-dir exclude each other")
	case o.insecure:
		for _, a := range []struct{ flag, addr string }{{"--raft-addr", o.raftAddr}, {"--raft-addr (advertised)", advertise}} {
			if err := loopbackOnly(a.flag, a.addr, "--insecure serves Raft without mutual TLS"); err != nil {
				return nil, err
			}
		}
		return nil, nil
	case o.certsDir == "":
		return nil, usageError("no certificates: pass --certs-dir DIR (ca.crt, node.crt, node.key; make them with `kappa cert create-node %s --hosts …`), or --insecure to serve plaintext without authentication (development only)", o.nodeID)
	}
	certs, err := tlsconf.Load(o.certsDir)
	if err != nil {
		return nil, usageError("--certs-dir: %v", err)
	}
	id, err := certs.Identity(tlsconf.NodePair)
	if err != nil {
		return nil, usageError("--certs-dir: %v", err)
	}
	if id.Name != o.nodeID {
		return nil, usageError("--certs-dir %s holds the certificate of node %q, not of --node-id %q", o.certsDir, id.Name, o.nodeID)
	}
	return certs, nil
}

func serve(o serverOptions, flags *pflag.FlagSet) error {
	signals := catchServerSignals()
	unsafe, err := node.ParseUnsafe(o.unsafeFaults)
	if err != nil {
		return usageError("%v", err)
	}
	if o.stepDown < 0 {
		return usageError("--lambda-unreachable-stepdown must not be negative (0 turns it off), got %s", o.stepDown)
	}
	if o.shutdownTimeout < 0 {
		return usageError("--shutdown-timeout must not be negative (0 stops at once), got %s", o.shutdownTimeout)
	}
	if o.nodeID == "" || o.dataDir == "" {
		return usageError("--node-id and --data-dir are required")
	}
	if o.jobHistory < 1 || o.jobHistory > fsm.MaxHistoryLimit {
		return usageError("--job-history must be between 1 and %d, got %d", fsm.MaxHistoryLimit, o.jobHistory)
	}
	if err := checkQuotas(o.quotas); err != nil {
		return err
	}
	if o.bootstrap && o.join != "" {
		return usageError("--bootstrap and --join exclude each other: bootstrap the first node, join the others")
	}
	if o.deadServerAfter < 0 || o.minQuorum < 1 {
		return usageError("--dead-server-after must not be negative (0 turns cleanup off) and --min-quorum must be at least 1")
	}
	if o.restore != "" && !fileExists(o.restore) {
		return usageError("--restore %s: no such file", o.restore)
	}
	hasState := fileExists(filepath.Join(o.dataDir, "raft", "raft.db"))
	if !hasState && !o.bootstrap && o.join == "" && !o.waitJoin && o.restore == "" && !o.forceNewCluster {
		return usageError("data dir %s holds no cluster yet: pass --bootstrap (first node), --join API_ADDR (any member), or --wait-join (then add it with `kappa cluster join`)", o.dataDir)
	}
	advertise := o.raftAdvertise
	if advertise == "" {
		advertise = o.raftAddr
	}
	certs, err := serverCerts(o, advertise)
	if err != nil {
		return err
	}
	if o.secrets.keyFile == "" {
		return usageError("--cluster-key-file is required: the same key file on every node (make one with `kappa keys generate FILE`; docs/security.md)")
	}
	keys, err := checkpoint.OpenKeyFile(o.secrets.keyFile)
	if err != nil {
		return usageError("--cluster-key-file: %v", err)
	}
	// Local lambdas and on-coordinator tasks are processes of this node.
	if err := checkWorkerPython(pythonPath(o.lambda.python)); err != nil {
		return err
	}
	logger, level, err := newLogger(o.logLevel, o.logFormat)
	if err != nil {
		return err
	}
	if len(o.unsafeFaults) > 0 {
		logger.Warn("UNSAFE test faults on: this node breaks guarantees on purpose", "faults", o.unsafeFaults)
	}
	if certs == nil {
		logger.Warn("INSECURE: this node serves its API, Raft and metrics in plaintext without authentication; " +
			"anyone who reaches its ports controls the cluster. Give it --certs-dir (docs/security.md)")
	}
	perNodeStore := o.secrets.store == ""
	storeURL, workerStore, err := o.secrets.storeURLs(flags, o.dataDir, logger)
	if err != nil {
		return usageError("%v", err)
	}
	store, err := checkpoint.Open(storeURL)
	if err != nil {
		return usageError("%v", err)
	}
	trans, err := raftgrpc.New(raftgrpc.Config{LocalAddr: raft.ServerAddress(advertise), Certs: certs, SourceIP: o.raftSourceIP,
		HeartbeatTimeout: o.raft.HeartbeatTimeout, Logger: logger})
	if err != nil {
		return err
	}
	if err := trans.Listen(o.raftAddr); err != nil {
		return fmt.Errorf("cannot listen on --raft-addr %s: %w", o.raftAddr, err)
	}
	o.lambda.logger, o.lambda.certs = logger, certs
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
		NodeID: o.nodeID, DataDir: o.dataDir, APIAddr: o.apiAddr, Certs: certs, Bootstrap: o.bootstrap, Join: o.join, JoinTimeout: o.joinTimeout,
		Transport: trans, Invoker: lam.invoker, CoordinatorInvoker: lam.coordinator, MaxInvocations: o.lambda.concurrency, Function: o.lambda.function, LambdaTimeout: o.lambda.timeout,
		LambdaUnreachableStepDown: o.stepDown,
		Store:                     store, WorkerStore: workerStore, Keys: keys, Raft: o.raft, Worker: o.worker, Logger: logger, RaftLogLevel: o.logLevel, RaftLogFormat: o.raftLog,
		WorkerCoordinators: workers, GCInterval: o.gcInterval, Retention: o.retention, JobHistory: o.jobHistory, Unsafe: unsafe, Limits: o.limits,
		MaxCommandVersion: o.maxCommandVersion, TokenFile: o.tokenFile, ShutdownTimeout: o.shutdownTimeout,
		TestClockOffset: o.clockOffset, Quotas: o.quotas, UIAddr: o.uiAddr,
		PerNodeStore: perNodeStore,
		Restore:      o.restore, ForceNewCluster: o.forceNewCluster, DeadServerAfter: o.deadServerAfter, MinQuorum: o.minQuorum,
	})
	if err != nil {
		trans.Close()
		var corrupt *node.CorruptError
		if errors.As(err, &corrupt) {
			return &exitError{code: exitCorrupt, msg: err.Error()}
		}
		return err
	}
	if o.metricsAddr != "" {
		if err := serveMetrics(o.metricsAddr, n, logger, certs, o.pprof); err != nil {
			n.Close()
			return err
		}
	} else if o.pprof {
		logger.Warn("--pprof does nothing without --metrics-addr")
	}
	logger.Info("node running", "id", o.nodeID, "raft", o.raftAddr, "api", n.APIAddr(), "store", store.URL(),
		"worker_store", checkpoint.RedactURL(workerStore), "lambda", o.lambda.backend, "tls", certs != nil)
	if o.reload == nil {
		o.reload = &reloader{}
	}
	o.reload.logger, o.reload.level, o.reload.tls = logger, level, certs != nil
	return signals.run(n, o.nodeID, logger, o.reload)
}

// checkQuotas refuses a quota of 0, which would read as "the default".
func checkQuotas(q node.Quotas) error {
	for _, f := range []struct {
		flag string
		v    uint64
	}{{"max-tasks-per-job", q.MaxTasksPerJob}, {"max-queue-items-per-job", q.MaxQueueItemsPerJob},
		{"max-running-per-job", q.MaxRunningPerJob}, {"max-live-jobs", q.MaxLiveJobs},
		{"max-live-jobs-per-submitter", q.MaxLiveJobsPerSubmitter}} {
		if f.v == 0 {
			return usageError("--%s must be at least 1", f.flag)
		}
	}
	return nil
}

// exitCorrupt is the exit status of a node whose data dir is corrupt
// (sysexits' EX_CONFIG): restarting it cannot help, so a supervisor should
// not (systemd: RestartPreventExitStatus=78).
const exitCorrupt = 78

// newLogger is a process's logger on stderr (--log-level, --log-format);
// gRPC's own lines go through it too. Its level can change while it runs
// (SIGHUP).
func newLogger(level, format string) (*slog.Logger, *slog.LevelVar, error) {
	l, err := logging.ParseLevel(level)
	if err != nil {
		return nil, nil, usageError("%v", err)
	}
	v := new(slog.LevelVar)
	v.Set(l)
	logger, err := logging.New(os.Stderr, logging.Options{Format: format, Level: v})
	if err != nil {
		return nil, nil, usageError("%v", err)
	}
	logging.RouteGrpc(logger)
	return logger, v, nil
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
