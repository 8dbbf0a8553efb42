package main

import (
	"errors"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kappa-serverless/kappa/node"
	wire "github.com/kappa-serverless/kappa/transport/kappapb"
)

// Exit codes of every kappa command (docs/operations.md, "Exit codes").
// Scripts and health checks branch on them, so they never change meaning.
const (
	exitOK = 0
	// exitFailed: the job failed, or an error none of the codes below names.
	exitFailed = 1
	// exitUsage: bad input (a flag, an argument, a file).
	exitUsage = 2
	// exitNodeUnreachable: kappa status could not reach some named node.
	exitNodeUnreachable = 3
	// exitNoLeader: no leader (an election in progress, or no quorum).
	exitNoLeader = 4
	// exitUnreachable: no node could be reached at all.
	exitUnreachable = 5
	// exitNotFound: no such job or task.
	exitNotFound = 6
	// exitFinished: the job already finished (cancel of a finished job).
	exitFinished = 7
	// exitInterrupted: Ctrl-C.
	exitInterrupted = 130
)

// exitCode is the process exit code for err.
func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	s, ok := status.FromError(err)
	if !ok {
		return exitFailed
	}
	switch reason(s) {
	case wire.ErrorReason_NOT_FOUND:
		return exitNotFound
	case wire.ErrorReason_JOB_FINISHED:
		return exitFinished
	case wire.ErrorReason_NO_LEADER:
		return exitNoLeader
	}
	switch s.Code() {
	case codes.NotFound:
		return exitNotFound
	case codes.Unavailable:
		// No node answered with a reason: none could be reached.
		return exitUnreachable
	}
	return exitFailed
}

// reason is the wire.ErrorReason a node put in the error's details.
func reason(s *status.Status) wire.ErrorReason {
	for _, d := range s.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == node.ReasonDomain {
			return wire.ErrorReason(wire.ErrorReason_value[info.GetReason()])
		}
	}
	return wire.ErrorReason_ERROR_REASON_UNSPECIFIED
}
