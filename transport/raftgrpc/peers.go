package raftgrpc

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	pb "github.com/kappa-serverless/kappa/transport/raftpb"
	"github.com/kappa-serverless/kappa/transport/tlsconf"
)

// RequireNodeCertificate is the PeerCheck of a secure cluster: the caller
// presented a node certificate that the cluster's CA signed (TLS verified
// it), and its Common Name is the server id the RPC speaks for. So a
// client certificate of the same CA, another CA's certificate, or node A
// speaking as node B never reaches raft.
func RequireNodeCertificate(state *tls.ConnectionState, claimed raft.ServerID) error {
	if state == nil {
		return fmt.Errorf("claims to be %q over plaintext: this node takes Raft RPCs over mutual TLS only", claimed)
	}
	id, ok := tlsconf.PeerIdentity(*state)
	switch {
	case !ok:
		return fmt.Errorf("claims to be %q without a verified Kappa certificate", claimed)
	case id.Role != tlsconf.RoleNode:
		return fmt.Errorf("presents the %s certificate of %q, not a node certificate", id.Role, id.Name)
	case raft.ServerID(id.Name) != claimed:
		return fmt.Errorf("presents the node certificate of %q but speaks for %q", id.Name, claimed)
	}
	return nil
}

// peerGate applies Config.PeerCheck to every RPC a peer sends, and logs
// each distinct refusal once (a forged peer may retry forever).
type peerGate struct {
	t      *Transport
	mu     sync.Mutex
	logged map[string]bool
}

// admit says whether the caller of ctx may speak for header's server id.
func (g *peerGate) admit(ctx context.Context, rpc string, header raft.RPCHeader) error {
	check := g.t.cfg.PeerCheck
	if check == nil {
		return nil
	}
	var state *tls.ConnectionState
	from := "unknown"
	if p, ok := peer.FromContext(ctx); ok {
		from = p.Addr.String()
		if host, _, err := net.SplitHostPort(from); err == nil {
			from = host
		}
		if info, ok := p.AuthInfo.(credentials.TLSInfo); ok {
			state = &info.State
		}
	}
	err := check(state, raft.ServerID(header.ID))
	if err == nil {
		return nil
	}
	key := fmt.Sprintf("%s|%s", peerName(state, from), err)
	g.mu.Lock()
	first := !g.logged[key]
	if first && len(g.logged) < 1024 {
		g.logged[key] = true
	}
	g.mu.Unlock()
	if first {
		g.t.cfg.Logger.Warn("refused a Raft RPC from a peer that is not the node it claims (logged once per peer)",
			"rpc", rpc, "from", from, "reason", err.Error())
	}
	return status.Errorf(codes.PermissionDenied, "raft %s refused: the caller %s", rpc, err)
}

// peerName is how a refused peer is told apart in the log: its certificate
// if it has one, else its host.
func peerName(state *tls.ConnectionState, host string) string {
	if state != nil && len(state.PeerCertificates) > 0 {
		return state.PeerCertificates[0].Subject.String()
	}
	return host
}

// admit refuses an RPC whose caller may not speak for the header's id.
func (s *service) admit(ctx context.Context, rpc string, h *pb.RPCHeader) error {
	return s.t.gate.admit(ctx, rpc, headerFromProto(h))
}
