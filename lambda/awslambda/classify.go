package awslambda

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/kappa-serverless/kappa/lambda"
)

// The kinds of invocation errors; test with errors.Is.
var (
	// Retried, and reported once retries run out:
	ErrThrottled   = errors.New("lambda invocations throttled")
	ErrService     = errors.New("lambda service error")
	ErrUnreachable = errors.New("lambda endpoint unreachable")
	// Reported at once:
	ErrFunctionNotFound = errors.New("lambda function not found")
	ErrAccessDenied     = errors.New("not allowed to invoke the lambda function")
	ErrBadCredentials   = errors.New("AWS credentials rejected")
	ErrRejected         = errors.New("lambda rejected the invocation")
	// ErrNoAnswer: the request was sent but no response came (the attempt
	// timed out or the connection broke). Not retried: the function may be
	// running, and the caller decides whether to launch it again.
	ErrNoAnswer = errors.New("no answer from lambda")
)

// Error is a failed invocation: its kind, what to fix, and the SDK's error.
type Error struct {
	Kind     error  // one of the Err* kinds above
	Function string // as invoked: name or ARN
	Code     string // the API's error code, e.g. "TooManyRequestsException"; "" when none came
	Status   int    // HTTP status; 0 when none came
	Attempts int    // requests sent for this invocation
	Elapsed  time.Duration
	Msg      string // what went wrong and what to fix
	Err      error  // the SDK's error
	// retryAfter is the server's hint (Retry-After) for throttling.
	retryAfter time.Duration
}

func (e *Error) Error() string {
	msg := e.Msg
	if e.Attempts > 1 {
		msg += fmt.Sprintf(" (gave up after %d attempts in %v)", e.Attempts, e.Elapsed.Round(time.Millisecond))
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is matches the error's kind, and lambda.ErrPlatformUnreachable for the
// kinds where Lambda was not reached or did not answer.
func (e *Error) Is(target error) bool {
	if target == lambda.ErrPlatformUnreachable {
		return e.Kind == ErrUnreachable || e.Kind == ErrNoAnswer
	}
	return target == e.Kind
}

func (e *Error) Unwrap() error { return e.Err }

func (e *Error) retryable() bool {
	return e.Kind == ErrThrottled || e.Kind == ErrService || e.Kind == ErrUnreachable
}

// target is what messages name: the function and where it was looked for.
type target struct{ function, region, endpoint string }

func (t target) where() string {
	if t.endpoint != "" {
		return "at " + t.endpoint + " (the local lambda platform)"
	}
	return "in region " + t.region
}

// functionARN is what an IAM policy must name.
func (t target) functionARN() string {
	if strings.HasPrefix(t.function, "arn:") {
		return t.function
	}
	return fmt.Sprintf("arn:aws:lambda:%s:<account>:function:%s", t.region, t.function)
}

// Codes whose retry cannot help even though Lambda answers them with 5xx:
// the function's configuration is broken.
var misconfigured = map[string]bool{
	"KMSAccessDeniedException": true, "KMSDisabledException": true, "KMSInvalidStateException": true,
	"KMSNotFoundException": true, "InvalidSubnetIDException": true, "InvalidSecurityGroupIDException": true,
	"InvalidZipFileException": true, "InvalidRuntimeException": true, "ENILimitReachedException": true,
	"SubnetIPAddressLimitReachedException": true, "EFSMountFailureException": true,
	"EFSMountConnectivityException": true, "EFSIOException": true, "EFSMountTimeoutException": true,
}

// credentialFixes says what to fix for each way AWS rejects credentials.
var credentialFixes = map[string]string{
	"UnrecognizedClientException":         "the access key id is unknown to AWS: check AWS_ACCESS_KEY_ID or the profile's keys",
	"InvalidClientTokenId":                "the access key id is unknown to AWS: check AWS_ACCESS_KEY_ID or the profile's keys",
	"InvalidSignatureException":           "the signature does not match: the secret access key is wrong, or this machine's clock is off by more than 5 minutes",
	"SignatureDoesNotMatch":               "the signature does not match: the secret access key is wrong, or this machine's clock is off by more than 5 minutes",
	"IncompleteSignature":                 "the request was not fully signed: check the credentials configuration",
	"MissingAuthenticationToken":          "the request carried no credentials: configure AWS credentials for the coordinator",
	"MissingAuthenticationTokenException": "the request carried no credentials: configure AWS credentials for the coordinator",
	"ExpiredTokenException":               "the session token has expired: refresh the credentials (aws sso login, or new STS credentials)",
	"ExpiredToken":                        "the session token has expired: refresh the credentials (aws sso login, or new STS credentials)",
}

// classify turns an error of one Invoke attempt into an *Error. ctx errors
// of the caller's own context pass through unchanged.
func classify(err error, t target, callerCtx context.Context) error {
	if callerCtx.Err() != nil {
		return callerCtx.Err()
	}
	e := &Error{Function: t.function, Err: err}
	var resp *smithyhttp.ResponseError
	if errors.As(err, &resp) {
		e.Status = resp.HTTPStatusCode()
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		e.Code = api.ErrorCode()
	}
	if e.Status == 0 && e.Code == "" {
		return classifyTransport(e, t)
	}
	fn := t.function
	switch fix, badCreds := credentialFixes[e.Code]; {
	case e.Code == "ResourceNotFoundException" || (e.Code == "" && e.Status == 404):
		e.Kind = ErrFunctionNotFound
		if t.endpoint != "" {
			e.Msg = fmt.Sprintf("function %q does not exist %s: serve it there (kappa lambda-local) or fix the function name", fn, t.where())
		} else {
			e.Msg = fmt.Sprintf("function %q does not exist %s: deploy it with `kappa deploy --function %s --region %s`", fn, t.where(), fn, t.region)
		}
	case badCreds && t.endpoint != "":
		e.Kind = ErrBadCredentials
		e.Msg = fmt.Sprintf("the Lambda API %s rejected the coordinator's credentials (%s): give the coordinator the access key id and secret access key that `kappa lambda-local` checks (--access-key-id, --secret-access-key-file)", t.where(), e.Code)
	case badCreds:
		e.Kind = ErrBadCredentials
		e.Msg = fmt.Sprintf("AWS rejected the coordinator's credentials (%s): %s", e.Code, fix)
	case e.Code == "AccessDeniedException" || e.Status == 403:
		e.Kind = ErrAccessDenied
		e.Msg = fmt.Sprintf("the coordinator's credentials are not allowed to invoke %q: grant lambda:InvokeFunction on %s to the coordinator's IAM role or user", fn, t.functionARN())
	case e.Status == 429 || e.Code == "TooManyRequestsException" || e.Code == "EC2ThrottledException":
		e.Kind = ErrThrottled
		var tooMany *types.TooManyRequestsException
		reason := ""
		if errors.As(err, &tooMany) {
			reason = ", " + string(tooMany.Reason)
			if tooMany.RetryAfterSeconds != nil {
				if s, err := strconv.Atoi(*tooMany.RetryAfterSeconds); err == nil {
					e.retryAfter = time.Duration(s) * time.Second
				}
			}
		}
		e.Msg = fmt.Sprintf("invocations of %q are throttled (%s%s): raise the function's reserved concurrency or the account's limit, or run fewer tasks at once", fn, e.Code, reason)
	case misconfigured[e.Code]:
		e.Kind = ErrRejected
		e.Msg = fmt.Sprintf("function %q is misconfigured (%s): fix its configuration and redeploy it with `kappa deploy --function %s`", fn, e.Code, fn)
	case e.Status >= 500 || e.Code == "ServiceException" || e.Code == "ResourceNotReadyException" || e.Code == "ResourceConflictException":
		// ResourceNotReady and ResourceConflict: the function is being
		// created or updated, which ends by itself.
		e.Kind = ErrService
		e.Msg = fmt.Sprintf("Lambda failed to invoke %q %s (%s)", fn, t.where(), statusOrCode(e))
	case e.Code == "RequestTooLargeException" || e.Status == 413:
		e.Kind = ErrRejected
		e.Msg = fmt.Sprintf("the event for %q is larger than Lambda accepts (6 MB synchronous, 1 MB Event)", fn)
	default:
		e.Kind = ErrRejected
		e.Msg = fmt.Sprintf("Lambda rejected the invocation of %q (%s)", fn, statusOrCode(e))
	}
	return e
}

// classifyTransport handles errors with no HTTP response.
func classifyTransport(e *Error, t target) error {
	var send *smithyhttp.RequestSendError
	var op *net.OpError
	switch {
	case errors.As(e.Err, &send) && errors.As(send.Err, &op) && op.Op == "dial":
		// Nothing reached the server: retrying cannot run the function twice.
		e.Kind = ErrUnreachable
		if t.endpoint != "" {
			e.Msg = fmt.Sprintf("cannot reach the Lambda API %s: is `kappa lambda-local` running there?", t.where())
		} else {
			e.Msg = fmt.Sprintf("cannot reach AWS Lambda %s: check the network, DNS and proxy settings", t.where())
		}
	case errors.As(e.Err, &send) || errors.Is(e.Err, context.DeadlineExceeded):
		e.Kind = ErrNoAnswer
		e.Msg = fmt.Sprintf("no answer from Lambda for %q %s (timed out or connection lost): the function may have run", t.function, t.where())
	case strings.Contains(e.Err.Error(), "credentials"):
		e.Kind = ErrBadCredentials
		e.Msg = "no usable AWS credentials for the coordinator: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run it with an IAM role"
	default:
		return fmt.Errorf("invoke %q: %w", t.function, e.Err)
	}
	return e
}

func statusOrCode(e *Error) string {
	switch {
	case e.Code != "" && e.Status != 0:
		return fmt.Sprintf("%d %s", e.Status, e.Code)
	case e.Code != "":
		return e.Code
	}
	return fmt.Sprintf("HTTP %d", e.Status)
}
