// Package raftgrpc is a hashicorp/raft Transport over gRPC: the coordinator
// nodes' Raft traffic, with pre-vote, pipelined replication, streamed
// snapshots, a heartbeat fast path, deadlines on every call and optional
// mutual TLS.
//
// One Transport is both sides: raft calls its client methods to reach
// peers, and the RaftTransport gRPC service it serves (Register on a
// caller's server, or Listen/Serve on its own) hands peers' RPCs to raft
// through Consumer.
package raftgrpc

import (
	"context"
	"sync"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc"
)

// Transport implements raft.Transport, raft.WithPreVote, raft.WithClose and
// raft.WithPeers.
type Transport struct {
	cfg       Config
	consumeCh chan raft.RPC
	conns     *connCache
	gate      *peerGate
	// replication: each peer's last answer to our AppendEntries.
	replication replication

	heartbeatMu sync.Mutex
	heartbeatFn func(raft.RPC)
	// shortcut says whether a heartbeat of this term may take heartbeatFn
	// (nil: none may); see SetHeartbeatShortcut.
	shortcut func(term uint64) bool

	// ctx is cancelled by Close; every call and every handler ends with it.
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex // guards closed, server and wg.Add against Close
	closed bool
	server *grpc.Server // set by Listen/Serve only
	wg     sync.WaitGroup
}

var (
	_ raft.Transport   = (*Transport)(nil)
	_ raft.WithPreVote = (*Transport)(nil)
	_ raft.WithClose   = (*Transport)(nil)
	_ raft.WithPeers   = (*Transport)(nil)
)

// New returns a Transport that serves nothing until Register, Listen or
// Serve, and dials peers lazily.
func New(cfg Config) (*Transport, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &Transport{
		cfg:       cfg,
		consumeCh: make(chan raft.RPC),
		conns:     newConnCache(cfg.dialOptions()),
		ctx:       ctx,
		cancel:    cancel,
	}
	t.gate = &peerGate{t: t, logged: map[string]bool{}}
	return t, nil
}

// Consumer is where raft receives its peers' RPCs.
func (t *Transport) Consumer() <-chan raft.RPC { return t.consumeCh }

// LocalAddr is the advertised address from Config.
func (t *Transport) LocalAddr() raft.ServerAddress { return t.cfg.LocalAddr }

// SetHeartbeatHandler sets where heartbeats go instead of Consumer, so that
// they are not queued behind log appends waiting on the disk.
func (t *Transport) SetHeartbeatHandler(cb func(raft.RPC)) {
	t.heartbeatMu.Lock()
	defer t.heartbeatMu.Unlock()
	t.heartbeatFn = cb
}

// SetHeartbeatShortcut says which heartbeats may skip the queue: those of
// a term for which ok returns true. Others go through Consumer, to raft's
// main loop. raft's heartbeat handler runs beside that loop, and a
// heartbeat of a newer term makes it move the term on and step down there
// and then: a leader's loop then stamps the entries it is appending with
// the new term, and a real entry of that term is later taken for a copy
// of them (Jepsen: a leader paused and resumed kept two such entries).
// The node passes "this node is a follower in exactly this term", so the
// shortcut only ever confirms the leader it follows. Before it is set,
// every heartbeat goes through Consumer.
func (t *Transport) SetHeartbeatShortcut(ok func(term uint64) bool) {
	t.heartbeatMu.Lock()
	defer t.heartbeatMu.Unlock()
	t.shortcut = ok
}

// FollowerIn is the shortcut rule SetHeartbeatShortcut wants: r is a
// follower in exactly the heartbeat's term.
func FollowerIn(r *raft.Raft) func(term uint64) bool {
	return func(term uint64) bool { return r.State() == raft.Follower && r.CurrentTerm() == term }
}

// heartbeatHandler is where a heartbeat of term goes instead of Consumer
// (nil: Consumer).
func (t *Transport) heartbeatHandler(term uint64) func(raft.RPC) {
	t.heartbeatMu.Lock()
	fn, ok := t.heartbeatFn, t.shortcut
	t.heartbeatMu.Unlock()
	if fn == nil || ok == nil || !ok(term) {
		return nil
	}
	return fn
}

// EncodePeer and DecodePeer: a peer is known by its address alone.
func (t *Transport) EncodePeer(_ raft.ServerID, addr raft.ServerAddress) []byte {
	return []byte(addr)
}

func (t *Transport) DecodePeer(buf []byte) raft.ServerAddress {
	return raft.ServerAddress(buf)
}

// Connect starts connecting to peer ahead of the first RPC (the transport
// argument, meant for loopback transports, is ignored).
func (t *Transport) Connect(peer raft.ServerAddress, _ raft.Transport) {
	if conn, err := t.conns.get(peer); err == nil {
		conn.Connect()
	}
}

// Disconnect closes the connection to a peer, e.g. one removed from the
// cluster; a later RPC dials again.
func (t *Transport) Disconnect(peer raft.ServerAddress) { t.conns.drop(peer) }

// DisconnectAll closes every peer connection.
func (t *Transport) DisconnectAll() { t.conns.dropAll() }

// Close stops serving (an owned server stops; handlers on a caller's server
// answer Unavailable), fails every call in flight with
// raft.ErrTransportShutdown, closes the connections and waits for the
// transport's goroutines. raft.Raft.Shutdown calls it.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	server := t.server
	t.mu.Unlock()

	t.cancel()
	if server != nil {
		server.Stop()
	}
	t.conns.close()
	t.wg.Wait()
	return nil
}

// goTracked runs f on a goroutine Close waits for, unless already closed.
func (t *Transport) goTracked(f func()) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return raft.ErrTransportShutdown
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		f()
	}()
	return nil
}

// heartbeatRPC names heartbeats in errors.
const heartbeatRPC = "AppendEntries (heartbeat)"

// isHeartbeat is raft's heartbeat as NetworkTransport recognises it: a term
// and a leader, and nothing else.
func isHeartbeat(r *raft.AppendEntriesRequest) bool {
	leader := r.Addr
	if len(leader) == 0 {
		//lint:ignore SA1019 raft still reads the field from peers of older protocol versions
		leader = r.Leader
	}
	return r.Term != 0 && len(leader) != 0 &&
		r.PrevLogEntry == 0 && r.PrevLogTerm == 0 &&
		len(r.Entries) == 0 && r.LeaderCommitIndex == 0
}
