package node

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kappa-serverless/kappa/fsm"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// Task credentials. Before each invocation the leader draws a secret,
// commits only its sha256 with the Launch, and puts the secret in the
// Invoke payload alone. Every task call presents it (metadata
// kappa-task-secret), and the call is served only if it matches the launch
// of the (job, task, epoch) the request names: so a task can act only for
// its own launch, and a lambda of one job cannot act for another's task.

// taskSecretBytes is the size of a task secret (hex in the payload).
const taskSecretBytes = 32

// newTaskSecret draws a task secret and its hash.
func newTaskSecret() (secret string, hash []byte) {
	var b [taskSecretBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("node: no randomness for task secrets: " + err.Error())
	}
	secret = hex.EncodeToString(b[:])
	h := sha256.Sum256([]byte(secret))
	return secret, h[:]
}

// secretMatches compares a presented secret with a committed hash in
// constant time.
func secretMatches(secret string, hash []byte) bool {
	h := sha256.Sum256([]byte(secret))
	return len(hash) == sha256.Size && subtle.ConstantTimeCompare(h[:], hash) == 1
}

// taskTarget is the launch a task call acts for.
func taskTarget(req any) (fsm.TaskKey, uint64, bool) {
	switch r := req.(type) {
	case *wire.ClaimRequest:
		return fsm.TaskKey{Job: r.GetJobId(), Task: r.GetTaskId()}, r.GetEpoch(), true
	case interface{ GetRef() *wire.TaskRef }:
		if ref := r.GetRef(); ref != nil {
			return fsm.TaskKey{Job: ref.GetJobId(), Task: ref.GetTaskId()}, ref.GetEpoch(), true
		}
	}
	return fsm.TaskKey{}, 0, false
}

// checkTask lets a task call through only for the launch its secret was
// drawn for. Refusals name the job, task and epoch the request named,
// never a secret or an invocation id.
func (a *authz) checkTask(ctx context.Context, p Principal, method string, req any) (context.Context, error) {
	k, epoch, ok := taskTarget(req)
	if !ok {
		return ctx, invalid(ctx, method+": the request names no task (job, task, epoch)")
	}
	denied := status.Errorf(codes.PermissionDenied, "task credential does not match job %d task %d epoch %d", k.Job, k.Task, epoch)
	var current uint64
	var hash []byte
	var known bool
	var version uint32
	a.n.replica.read(func(m *fsm.Machine) {
		current, hash, known = m.LaunchCredential(k)
		version = m.ClusterVersion()
	})
	switch {
	case !known || current < epoch:
		// This replica has not applied that launch (or it never was).
		return a.leaderDecides(ctx, denied)
	case current > epoch && a.n.cfg.Unsafe.FSM.NoFencing:
		// The unsafe test switch turns off this fence too (the secret of
		// a superseded launch is no longer known here), so its tests show
		// what fencing prevents.
		return ctx, nil
	case current > epoch:
		return ctx, rpcError(ctx, codes.FailedPrecondition, wire.ErrorReason_SUPERSEDED, fmt.Sprintf(
			"%s refused: epoch %d of j%d/t%d was superseded (the current epoch is %d)", method, epoch, k.Job, k.Task, current))
	case len(hash) == 0 && version < 2:
		// Launched by a leader that could not use task credentials yet
		// (the cluster runs command version 1): the claim rule alone
		// fences it, as before this version.
		return ctx, nil
	case len(hash) == 0:
		// Launched before the cluster turned credentials on: it stops,
		// and the task is relaunched with a secret.
		return ctx, rpcError(ctx, codes.FailedPrecondition, wire.ErrorReason_SUPERSEDED, fmt.Sprintf(
			"%s refused: epoch %d of j%d/t%d was launched without a task credential; it is relaunched with one", method, epoch, k.Job, k.Task))
	case p.secret == "" || !secretMatches(p.secret, hash):
		return ctx, denied
	}
	return ctx, nil
}
