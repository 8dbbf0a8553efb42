package node

import (
	"encoding/base64"

	"google.golang.org/protobuf/proto"

	"github.com/kappa-serverless/kappa/fsm"
)

// maxPayloadGrant bounds a grant carried in the Invoke payload; a larger
// one (big start arguments, many awaited results) is read with a Claim.
const maxPayloadGrant = 16 << 10

// payloadGrant is the grant of a just-committed launch for its Invoke
// payload, so a worker starts without a round trip to read it (a deferred
// claim; the claim itself still travels with the task's first call, which
// the FSM fences as before). The payload already carries the task secret,
// which is what reading the grant takes, so it exposes nothing more. ""
// when the worker must read it: claims cannot be deferred (a cluster below
// command version 3, or this node no longer leads), there is no secret, or
// the grant is large or cannot get its keys now.
func (n *Node) payloadGrant(k fsm.TaskKey, epoch uint64, inv, secret string) string {
	if secret == "" || !n.canDeferClaims() {
		return ""
	}
	g, bad := n.deferredGrant(k.Job, k.Task, epoch, inv)
	if bad != nil {
		return ""
	}
	if err := n.addJobKeys(g, k.Job); err != nil {
		return ""
	}
	g.Limits = n.cfg.Limits.wire()
	b, err := proto.Marshal(g)
	if err != nil || len(b) > maxPayloadGrant {
		return ""
	}
	return base64.StdEncoding.EncodeToString(b)
}
