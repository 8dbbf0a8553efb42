package awslambda

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	lambdasdk "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/kappa-serverless/kappa/lambda"
)

// Invoker invokes Lambda functions through the SDK. It is safe for
// concurrent use.
type Invoker struct {
	cfg    Config
	client *lambdasdk.Client

	invocations, attempts, throttles, serviceErrors, unreachable atomic.Int64
}

var _ lambda.Invoker = (*Invoker)(nil)

// Stats counts what the Invoker did; Attempts > Invocations means retries.
type Stats struct {
	Invocations   int64 // Invoke and InvokeEvent calls that got an answer
	Attempts      int64 // requests sent
	Throttles     int64 // attempts answered with throttling
	ServiceErrors int64 // attempts answered with a 5xx service error
	Unreachable   int64 // attempts that could not connect
}

// New checks cfg and builds the SDK client. It contacts nothing: a missing
// function or bad credentials show at the first invocation.
func New(ctx context.Context, cfg Config) (*Invoker, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	client, err := newClient(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	return &Invoker{cfg: cfg, client: client}, nil
}

// Invoke runs a synchronous (RequestResponse) invocation and reports what
// the function did. The error is non-nil when Lambda did not run it (an
// *Error, or ctx's error). inv.Timeout bounds the wait for the answer only:
// the function's own timeout is part of its deployed configuration.
func (i *Invoker) Invoke(ctx context.Context, inv lambda.Invocation) (lambda.Result, error) {
	t, err := i.target(inv)
	if err != nil {
		return lambda.Result{}, err
	}
	in := &lambdasdk.InvokeInput{
		FunctionName:   aws.String(t.function),
		InvocationType: types.InvocationTypeRequestResponse,
		LogType:        types.LogTypeTail,
		Payload:        inv.Payload,
	}
	var out *lambdasdk.InvokeOutput
	var sent time.Time
	err = i.withRetries(ctx, t, i.attemptTimeout(inv), func(actx context.Context) (err error) {
		sent = time.Now()
		out, err = i.client.Invoke(actx, in)
		return err
	})
	if err != nil {
		return lambda.Result{}, err
	}
	i.invocations.Add(1)
	requestID, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	return resultOf(out, requestID, time.Since(sent)), nil
}

// InvokeEvent queues an asynchronous (Event) invocation and returns its
// request id once Lambda accepted it; the function runs later.
func (i *Invoker) InvokeEvent(ctx context.Context, inv lambda.Invocation) (requestID string, err error) {
	t, err := i.target(inv)
	if err != nil {
		return "", err
	}
	in := &lambdasdk.InvokeInput{
		FunctionName:   aws.String(t.function),
		InvocationType: types.InvocationTypeEvent,
		Payload:        inv.Payload,
	}
	var out *lambdasdk.InvokeOutput
	err = i.withRetries(ctx, t, i.cfg.AttemptMargin, func(actx context.Context) (err error) {
		out, err = i.client.Invoke(actx, in)
		return err
	})
	if err != nil {
		return "", err
	}
	i.invocations.Add(1)
	requestID, _ = awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	return requestID, nil
}

// Stats returns a snapshot of the counters.
func (i *Invoker) Stats() Stats {
	return Stats{
		Invocations:   i.invocations.Load(),
		Attempts:      i.attempts.Load(),
		Throttles:     i.throttles.Load(),
		ServiceErrors: i.serviceErrors.Load(),
		Unreachable:   i.unreachable.Load(),
	}
}

var _ lambda.ReachCounter = (*Invoker)(nil)

// Reach is Stats as the leader's platform health check reads it.
func (i *Invoker) Reach() lambda.Reach {
	return lambda.Reach{Answered: i.invocations.Load(), Unreachable: i.unreachable.Load()}
}

func (i *Invoker) count(kind error) {
	switch kind {
	case ErrThrottled:
		i.throttles.Add(1)
	case ErrService:
		i.serviceErrors.Add(1)
	case ErrUnreachable:
		i.unreachable.Add(1)
	}
}

func (i *Invoker) target(inv lambda.Invocation) (target, error) {
	fn := inv.Function
	if fn == "" {
		fn = i.cfg.Function
	}
	if fn == "" {
		return target{}, errors.New("aws lambda: no function to invoke: set the function name")
	}
	return target{function: fn, region: i.cfg.Region, endpoint: i.cfg.Endpoint}, nil
}

func (i *Invoker) attemptTimeout(inv lambda.Invocation) time.Duration {
	if inv.Timeout > 0 {
		return inv.Timeout + i.cfg.AttemptMargin
	}
	return i.cfg.Timeout
}

// String names the target for logs.
func (i *Invoker) String() string {
	t, _ := i.target(lambda.Invocation{})
	return fmt.Sprintf("aws lambda %q %s", t.function, t.where())
}
