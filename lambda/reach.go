package lambda

import "errors"

// ErrPlatformUnreachable is matched (errors.Is) by a backend's invocation
// error when the platform itself could not be reached: no connection, or
// no answer on it. Everything the platform answered (function errors,
// throttling, rejections, a missing function) does not match. A leader
// cut off from the platform runs no task, so a long run of these makes it
// hand leadership to a node that may reach the platform.
var ErrPlatformUnreachable = errors.New("lambda platform unreachable")

// Reach counts a backend's attempts to reach the platform.
type Reach struct {
	Answered    int64 // invocations the platform answered (whatever the function did)
	Unreachable int64 // attempts that could not reach it
}

// ReachCounter is implemented by an Invoker that counts its attempts as
// they happen, so failures show while one invocation is still retrying.
type ReachCounter interface {
	Reach() Reach
}
