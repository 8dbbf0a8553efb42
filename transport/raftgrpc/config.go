package raftgrpc

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc/credentials"

	"github.com/kappa-serverless/kappa/transport/tlsconf"
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

	// Certs, when set, secure both directions with mutual TLS from a
	// Kappa certs dir, re-read when the files change: the server presents
	// node.crt and requires a client certificate of the cluster's CA; the
	// client presents node.crt and accepts only a node certificate of the
	// CA (by certificate, not host name: peers may sit behind proxies).
	// PeerCheck defaults to RequireNodeCertificate.
	Certs *tlsconf.Certs

	// TLS, when set instead of Certs, is a fixed configuration for both
	// directions: the server presents Certificates and checks client
	// certificates by ClientCAs and ClientAuth; the client checks servers
	// by RootCAs and presents Certificates. Neither: plaintext.
	TLS *tls.Config

	// PeerCheck, when set, is asked about every RPC a peer sends before
	// raft sees it, with the connection's TLS state (nil over plaintext)
	// and the server id the RPC header claims; an error refuses the RPC
	// with PermissionDenied.
	PeerCheck func(state *tls.ConnectionState, claimed raft.ServerID) error

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

	serverTLS   *tls.Config                      // what the server side presents and checks
	clientCreds credentials.TransportCredentials // how the client side dials
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
	if err := cfg.setTLS(); err != nil {
		return cfg, err
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

// setTLS fills serverTLS and clientCreds from Certs or TLS.
func (cfg *Config) setTLS() error {
	switch {
	case cfg.Certs != nil && cfg.TLS != nil:
		return errors.New("raftgrpc: set Config.Certs or Config.TLS, not both")
	case cfg.Certs != nil:
		server, err := cfg.Certs.ServerConfig(tlsconf.NodePair, tls.RequireAndVerifyClientCert)
		if err != nil {
			return fmt.Errorf("raftgrpc: %w", err)
		}
		client, err := cfg.Certs.Credentials(tlsconf.ClientOptions{Pair: &tlsconf.NodePair, ServerRole: tlsconf.RoleNode, AnyHost: true})
		if err != nil {
			return fmt.Errorf("raftgrpc: %w", err)
		}
		cfg.serverTLS, cfg.clientCreds = server, client
		if cfg.PeerCheck == nil {
			cfg.PeerCheck = RequireNodeCertificate
		}
	case cfg.TLS != nil:
		cfg.serverTLS, cfg.clientCreds = cfg.TLS.Clone(), credentials.NewTLS(cfg.TLS.Clone())
	}
	return nil
}

// snapshotTimeout is the deadline for sending a snapshot of size bytes.
func (cfg *Config) snapshotTimeout(size int64) time.Duration {
	return cfg.Timeout + time.Duration(float64(size)/float64(cfg.SnapshotMinRate)*float64(time.Second))
}
