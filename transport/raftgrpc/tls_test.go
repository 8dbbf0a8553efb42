package raftgrpc

import (
	"context"
	"crypto/tls"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/kappa-serverless/kappa/transport/tlsconf"
)

func newCA(t *testing.T) *tlsconf.CA {
	t.Helper()
	ca, err := tlsconf.CreateCA(filepath.Join(t.TempDir(), "ca"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// nodeCerts issues a node certificate for id and loads its certs dir.
func nodeCerts(t testing.TB, ca *tlsconf.CA, id string) *tlsconf.Certs {
	t.Helper()
	dir := filepath.Join(t.TempDir(), id)
	if err := ca.IssueNode(dir, id, []string{"127.0.0.1"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	c, err := tlsconf.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// messageCounter is a log handler that counts records by message.
type messageCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

func (m *messageCounter) Enabled(context.Context, slog.Level) bool { return true }
func (m *messageCounter) WithAttrs([]slog.Attr) slog.Handler       { return m }
func (m *messageCounter) WithGroup(string) slog.Handler            { return m }

func (m *messageCounter) Handle(_ context.Context, r slog.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.counts[r.Message]++
	return nil
}

func (m *messageCounter) count(prefix string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for msg, c := range m.counts {
		if strings.HasPrefix(msg, prefix) {
			n += c
		}
	}
	return n
}

// TestMutualTLSCluster: a cluster replicates over mutual TLS with a node
// certificate each, and nobody else's RPC reaches raft: not plaintext, not
// a connection without a certificate, not another CA's node, not a client
// certificate of the cluster's own CA, not a node certificate of the CA
// speaking for another node. The leader never steps down for them, and
// each refusal is logged once however often it is tried.
func TestMutualTLSCluster(t *testing.T) {
	ca := newCA(t)
	logs := &messageCounter{counts: map[string]int{}}
	c := newCluster(t, clusterOptions{ca: ca, transConf: func(cfg *Config) { cfg.Logger = slog.New(logs) }})
	leader := c.leader()
	c.applyN(leader, 100, 4)
	c.converged(100)
	term := leader.raft.CurrentTerm()
	member := string(c.followers()[0].id)

	pool, err := nodeCerts(t, ca, "probe").Pool()
	if err != nil {
		t.Fatal(err)
	}
	// anotherCA's node certificate named like a member, in a dir that
	// trusts the cluster's CA (so only the cluster can refuse it).
	other := nodeCerts(t, newCA(t), member)
	clusterCA, _ := os.ReadFile(filepath.Join(c.nodes[0].trans.cfg.Certs.Dir(), tlsconf.CAFile))
	if err := os.WriteFile(filepath.Join(other.Dir(), tlsconf.CAFile), clusterCA, 0o644); err != nil {
		t.Fatal(err)
	}
	otherCA, err := tlsconf.Load(other.Dir())
	if err != nil {
		t.Fatal(err)
	}
	adminDir := filepath.Join(t.TempDir(), "alice")
	if err := ca.IssueClient(adminDir, "alice", tlsconf.RoleAdmin, time.Hour); err != nil {
		t.Fatal(err)
	}
	admin, err := tlsconf.Load(adminDir)
	if err != nil {
		t.Fatal(err)
	}
	adminPair, err := admin.Certificate(tlsconf.ClientPair)
	if err != nil {
		t.Fatal(err)
	}

	type stranger struct {
		name   string
		cfg    Config
		claims string
		want   string // in the refusal
	}
	strangers := []stranger{
		{"plaintext", Config{}, member, ""},
		{"no certificate", Config{TLS: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}}, member, ""},
		{"another CA's node", Config{Certs: otherCA}, member, ""},
		{"the CA's admin client", Config{TLS: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1",
			Certificates: []tls.Certificate{*adminPair}}}, member, "not a node certificate"},
		{"a node certificate of the CA speaking for a member", Config{Certs: nodeCerts(t, ca, "mallory")}, member, `speaks for "` + member + `"`},
		{"a member speaking for another", Config{Certs: nodeCerts(t, ca, member)}, string(leader.id), `speaks for "` + string(leader.id) + `"`},
		{"a member's certificate with no id", Config{Certs: nodeCerts(t, ca, member)}, "", `speaks for ""`},
	}
	for _, target := range []*testNode{leader, c.followers()[0]} {
		for _, s := range strangers {
			tr := newTransport(t, withTimeout(s.cfg, 2*time.Second))
			header := raft.RPCHeader{ID: []byte(s.claims), Addr: []byte("127.0.0.1:1")}
			for range 3 {
				err := tr.RequestVote(raft.ServerID(s.claims), target.addr, &raft.RequestVoteRequest{RPCHeader: header, Term: term + 1000,
					LastLogIndex: 1 << 40, LastLogTerm: term + 1000}, &raft.RequestVoteResponse{})
				requireRPCError(t, err, "RequestVote", target.addr, nil)
				if !strings.Contains(err.Error(), s.want) {
					t.Errorf("%s: %v, want %q in it", s.name, err, s.want)
				}
				err = tr.AppendEntries(raft.ServerID(s.claims), target.addr, &raft.AppendEntriesRequest{RPCHeader: header, Term: term + 1000},
					&raft.AppendEntriesResponse{})
				requireRPCError(t, err, heartbeatRPC, target.addr, nil)
			}
			t.Logf("%s → %s: refused", s.name, target.id)
		}
	}
	// Their huge terms never reached raft: the leader leads on in its term.
	if leader.raft.State() != raft.Leader || leader.raft.CurrentTerm() != term {
		t.Fatalf("strangers deposed the leader: state %v, term %d (was %d)", leader.raft.State(), leader.raft.CurrentTerm(), term)
	}
	c.applyN(leader, 10, 1)
	c.converged(110)
	// Refusals the server could see (a handshake it completed) are logged
	// once per peer and reason: 4 such strangers × 2 targets, though each
	// tried 6 times.
	if got := logs.count("refused a Raft RPC"); got != 8 {
		t.Errorf("logged %d refusals, want 8 (one per peer and reason): %v", got, logs.counts)
	}
}

func withTimeout(cfg Config, d time.Duration) Config {
	cfg.Timeout, cfg.HeartbeatTimeout = d, d
	return cfg
}

// TestPeerCheck: RequireNodeCertificate by itself.
func TestPeerCheck(t *testing.T) {
	if err := RequireNodeCertificate(nil, "n1"); err == nil || !strings.Contains(err.Error(), "plaintext") {
		t.Errorf("plaintext: %v", err)
	}
	if err := RequireNodeCertificate(&tls.ConnectionState{}, "n1"); err == nil || !strings.Contains(err.Error(), "without a verified") {
		t.Errorf("no certificate: %v", err)
	}
}
