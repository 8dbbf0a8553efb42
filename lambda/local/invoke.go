package local

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/kappa-serverless/kappa/lambda"
)

// call is one invocation handed to a ready worker.
type call struct {
	requestID string
	function  string
	payload   json.RawMessage
	timeout   time.Duration
	log       *invocationLog
}

// invoke runs c on the ready worker w and classifies how it ended. reusable
// reports whether w answered and may serve another invocation; otherwise it
// has been killed and the caller must destroy it. The error is non-nil only
// for ctx cancellation or platform shutdown (the worker is killed then too).
func (w *worker) invoke(ctx context.Context, closing <-chan struct{}, c call) (res lambda.Result, reusable bool, err error) {
	w.logs.begin(c.log)
	defer w.logs.end(c.log)

	// Lambda's clock: it starts when the request goes to a ready runtime.
	start := time.Now()
	deadline := start.Add(c.timeout)
	msg, err := json.Marshal(request{
		Type:           msgInvoke,
		RequestID:      c.requestID,
		Function:       c.function,
		DeadlineUnixMS: deadline.UnixMilli(),
		TimeoutMS:      c.timeout.Milliseconds(),
		Payload:        c.payload,
	})
	if err != nil {
		return res, true, fmt.Errorf("local lambda: encode request: %w", err)
	}
	timer := time.NewTimer(c.timeout)
	defer timer.Stop()
	// The write runs on its own so a worker that stops reading cannot hold
	// us past the deadline; it ends once the worker reads or dies.
	written := make(chan error, 1)
	go func() { written <- writeFrame(w.requests, msg) }()
	writing, responses := written, w.responses
	defer func() {
		if !reusable {
			w.kill()
		}
		if writing != nil {
			<-writing
		}
	}()

	for {
		select {
		case werr := <-writing:
			writing = nil
			if werr != nil && w.alive() {
				w.kill()
				return w.died(c, start, "Runtime.Unknown", "worker request pipe failed: "+werr.Error()), false, nil
			}
		case msg, ok := <-responses:
			switch {
			case !ok:
				responses = nil // fd 4 closed: the exit follows
				continue
			case msg.invalid != nil:
				return w.died(c, start, "Runtime.Unknown", "worker protocol error: "+msg.invalid.Error()), false, nil
			case msg.Type != msgResult || msg.RequestID != c.requestID:
				reason := fmt.Sprintf("worker protocol error: unexpected %q message for request %q", msg.Type, msg.RequestID)
				return w.died(c, start, "Runtime.Unknown", reason), false, nil
			}
			res = answered(msg)
			res.Duration = time.Since(start)
			waitDrained(c.log) // the worker wrote its end markers before the result
			res.LogTail = c.log.text()
			return res, true, nil
		case <-w.exited:
			if isClosing(closing) { // Close killed it: not the function's fault
				return res, false, ErrClosed
			}
			return w.died(c, start, "Runtime.ExitError", exitedReason(w.exitErr)), false, nil
		case <-timer.C:
			w.kill()
			res = timedOut(c.requestID, c.timeout)
			res.Duration = time.Since(start)
			waitDrained(c.log)
			res.LogTail = c.log.text()
			return res, false, nil
		case <-ctx.Done():
			return res, false, ctx.Err()
		case <-closing:
			return res, false, ErrClosed
		}
	}
}

// died reports a crash after killing what is left of the worker and reading
// its last output.
func (w *worker) died(c call, start time.Time, errorType, reason string) lambda.Result {
	d := time.Since(start)
	last := w.drainedTail(c.log)
	res := crashed(c.requestID, errorType, reason, last)
	res.Duration = d
	res.LogTail = c.log.text()
	return res
}

// waitDrained waits, boundedly, until both output streams of an invocation
// have ended (end markers read, or EOF of a killed worker).
func waitDrained(log *invocationLog) {
	select {
	case <-log.drained:
	case <-time.After(streamGrace):
	}
}
