package node

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"

	"github.com/kappa-serverless/kappa/checkpoint"
	"github.com/kappa-serverless/kappa/fsm"
	pb "github.com/kappa-serverless/kappa/fsm/fsmpb"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// RotateKey makes a key id the cluster's current one: new blobs are sealed
// with it from then on, and blobs sealed with older ids keep verifying as
// long as those ids stay in the key files. It commits only after every
// voter reported holding the same key under that id, so no leader can
// ever lack the key it must hand out.
func (a *adminAPI) RotateKey(ctx context.Context, req *wire.RotateKeyRequest) (*wire.RotateKeyResponse, error) {
	to := req.GetToId()
	if err := checkpoint.ValidKeyID(to); err != nil {
		return nil, invalid(ctx, "rotate: "+err.Error())
	}
	if err := a.n.requireLeader(ctx); err != nil {
		return nil, err
	}
	var version uint32
	var current, known string
	a.n.replica.read(func(m *fsm.Machine) { version, current, known = m.ClusterVersion(), m.KeyID(), m.KeyFingerprint(to) })
	refuse := func(format string, args ...any) error {
		return rpcError(ctx, codes.FailedPrecondition, wire.ErrorReason_BAD_STATE, "rotate: "+fmt.Sprintf(format, args...))
	}
	switch {
	case version < keysSince:
		return nil, refuse("key rotation needs command version %d (every voter upgraded); the cluster runs version %d", keysSince, version)
	case current == "":
		return nil, refuse("the cluster's keys are not set yet (the leader sets them once every voter holds the first key of its key file); retry")
	case current == to:
		return &wire.RotateKeyResponse{PreviousId: current, CurrentId: to}, nil
	}
	ring, err := a.n.cfg.Keys.Keyring()
	if err != nil {
		return nil, refuse("this leader's key file: %v", err)
	}
	fp := ring.Fingerprint(to)
	if fp == "" {
		return nil, refuse("node %s's cluster key file lacks key id %q; add the key to every node's file first (docs/security.md, \"Rotating keys\")", a.n.cfg.NodeID, to)
	}
	if known != "" && known != fp {
		return nil, refuse("key id %q already names another key in this cluster (fingerprint %.16s…); a key id is never reused", to, known)
	}
	checked, err := a.n.votersHoldKey(ctx, to, fp)
	if errors.Is(err, errVoterKey) {
		return nil, refuse("%v", err)
	}
	if err != nil {
		return nil, rpcError(ctx, codes.Unavailable, wire.ErrorReason_NO_LEADER, "rotate: "+err.Error())
	}
	set := &pb.SetKeys{CurrentId: to, Checks: []*pb.KeyCheck{{Id: to, Fingerprint: fp}}}
	if _, err := a.n.commit(ctx, &pb.Command{Op: &pb.Command_SetKeys{SetKeys: set}}); err != nil {
		return nil, err
	}
	a.n.log.Info("cluster key rotated: new blobs are sealed with the new key id", "from", current, "to", to, "voters_checked", checked)
	return &wire.RotateKeyResponse{PreviousId: current, CurrentId: to, Checked: checked}, nil
}
