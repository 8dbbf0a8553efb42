package raftgrpc

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"time"

	"github.com/hashicorp/raft"
)

// Defaults for the zero fields of Config.
const (
	DefaultTimeout           = 10 * time.Second
	DefaultHeartbeatTimeout  = time.Second
	DefaultMaxMsgSize        = 64 << 20
	DefaultMaxInFlight       = 4
	DefaultSnapshotChunkSize = 1 << 20
	DefaultSnapshotMinRate   = 1 << 20
)

// Config configures a Transport. Only LocalAddr is required.
type Config struct {
	// LocalAddr is the address other nodes reach this one at (host:port);
	// raft stores it in its configuration and hands it to followers.
	LocalAddr raft.ServerAddress

	// TLS, when set, secures both directions: the server presents
	// Certificates and checks client certificates by ClientCAs and
	// ClientAuth (tls.RequireAndVerifyClientCert for mutual TLS); the client
	// checks servers by RootCAs and presents Certificates. Nil means
	// plaintext.
	TLS *tls.Config

	// Timeout bounds every RPC but heartbeats and snapshots, and each
	// pipelined AppendEntries from its send to its response.
	Timeout time.Duration

	// HeartbeatTimeout bounds a heartbeat, so that a dead follower is seen
	// as failing within about one raft heartbeat timeout rather than
	// Timeout. Set it to raft's Config.HeartbeatTimeout.
	HeartbeatTimeout time.Duration

	// SourceIP, when set, is the local address every dial to a peer leaves
	// from. Tests that put a fault-injecting proxy in front of each node set
	// it, so the proxy can tell which node a connection comes from.
	SourceIP string

	// MaxMsgSize caps one gRPC message either way. It must hold a full
	// AppendEntries batch: raft's MaxAppendEntries times the largest entry.
	MaxMsgSize int

	// MaxInFlight caps the AppendEntries a pipeline has sent and not yet
	// seen answered; a further append blocks (back-pressure). Small on
	// purpose: while it blocks, raft gathers the next entries into one
	// bigger batch, so followers fsync less often. With boltdb on disk and
	// 64 appliers, 2 or 4 in flight gave about 1.7 times the throughput of
	// 32 (hashicorp/raft#541 found the same for its own transport, whose
	// default is 2). At least 2 to pipeline at all.
	MaxInFlight int

	// SnapshotChunkSize is the data carried by one InstallSnapshot message.
	SnapshotChunkSize int

	// SnapshotMinRate (bytes/s) scales the InstallSnapshot deadline:
	// Timeout + size/SnapshotMinRate.
	SnapshotMinRate int64

	// Logger receives the transport's own events (pipelines, snapshots);
	// raft logs its RPC failures itself. Nil means slog.Default().
	Logger *slog.Logger
}

// withDefaults returns cfg with its zero fields filled in, or an error for
// a field that cannot work.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.LocalAddr == "" {
		return cfg, errors.New("raftgrpc: Config.LocalAddr is required (the address peers dial)")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.HeartbeatTimeout == 0 {
		cfg.HeartbeatTimeout = DefaultHeartbeatTimeout
	}
	if cfg.MaxMsgSize == 0 {
		cfg.MaxMsgSize = DefaultMaxMsgSize
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.SnapshotChunkSize == 0 {
		cfg.SnapshotChunkSize = DefaultSnapshotChunkSize
	}
	if cfg.SnapshotMinRate == 0 {
		cfg.SnapshotMinRate = DefaultSnapshotMinRate
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	switch {
	case cfg.Timeout < 0 || cfg.HeartbeatTimeout < 0:
		return cfg, errors.New("raftgrpc: Timeout and HeartbeatTimeout must be positive")
	case cfg.MaxMsgSize < 0 || cfg.MaxInFlight < 0 || cfg.SnapshotMinRate < 0:
		return cfg, errors.New("raftgrpc: MaxMsgSize, MaxInFlight and SnapshotMinRate must be positive")
	case cfg.SnapshotChunkSize < 0 || cfg.SnapshotChunkSize > cfg.MaxMsgSize/2:
		return cfg, errors.New("raftgrpc: SnapshotChunkSize must be positive and at most half of MaxMsgSize")
	}
	return cfg, nil
}

// snapshotTimeout is the deadline for sending a snapshot of size bytes.
func (cfg *Config) snapshotTimeout(size int64) time.Duration {
	return cfg.Timeout + time.Duration(float64(size)/float64(cfg.SnapshotMinRate)*float64(time.Second))
}
