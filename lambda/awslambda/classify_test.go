package awslambda

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/lambda"
)

// fake serves the scripted responses and returns an Invoker pointed at them.
func fake(t *testing.T, tune func(*Config), responses ...fakeResponse) (*Invoker, *scripted) {
	t.Helper()
	s := &scripted{responses: responses}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return newInvoker(t, hs.URL, tune), s
}

func TestAPIErrorsEndAtOnceNamingTheFix(t *testing.T) {
	for _, tc := range []struct {
		name  string
		resp  fakeResponse
		kind  error
		wants []string
	}{
		{"access denied", apiError(403, "AccessDeniedException",
			`{"Message":"User: arn:aws:iam::1:user/x is not authorized to perform: lambda:InvokeFunction"}`),
			ErrAccessDenied, []string{"grant lambda:InvokeFunction on arn:aws:lambda:eu-west-1:<account>:function:kappa-worker", "is not authorized"}},
		{"bare 403", fakeResponse{status: 403}, ErrAccessDenied, []string{"not allowed to invoke"}},
		{"unknown key", apiError(403, "UnrecognizedClientException:http://internal.amazon.com/coral/com.amazon.coral.service/",
			`{"message":"The security token included in the request is invalid."}`),
			ErrBadCredentials, []string{"UnrecognizedClientException", "AWS_ACCESS_KEY_ID"}},
		{"bad signature", apiError(403, "InvalidSignatureException", `{"message":"Signature expired"}`),
			ErrBadCredentials, []string{"secret access key", "clock"}},
		{"expired token", apiError(403, "ExpiredTokenException", `{"message":"The security token included in the request is expired"}`),
			ErrBadCredentials, []string{"expired", "refresh"}},
		{"not found", apiError(404, "ResourceNotFoundException", `{"Type":"User","Message":"Function not found: arn:aws:lambda:eu-west-1:1:function:kappa-worker"}`),
			ErrFunctionNotFound, []string{`function "kappa-worker" does not exist in region eu-west-1: deploy it with ` + "`kappa deploy --function kappa-worker --region eu-west-1`"}},
		{"misconfigured", apiError(502, "KMSAccessDeniedException", `{"Message":"no key"}`),
			ErrRejected, []string{"misconfigured (KMSAccessDeniedException)", "redeploy"}},
		{"too large", apiError(413, "RequestTooLargeException", `{"message":"Request must be smaller than 6291456 bytes"}`),
			ErrRejected, []string{"larger than Lambda accepts"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			i, s := fake(t, func(c *Config) { c.Region = "eu-west-1" }, tc.resp, okResponse)
			i.cfg.Endpoint = "" // word messages as for AWS; the client keeps its endpoint
			_, err := i.Invoke(context.Background(), lambda.Invocation{Payload: []byte(`{}`)})
			var e *Error
			if !errors.Is(err, tc.kind) || !errors.As(err, &e) || s.requests.Load() != 1 || e.Attempts != 1 {
				t.Fatalf("err %v after %d requests, want %v at once", err, s.requests.Load(), tc.kind)
			}
			for _, want := range tc.wants {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%q lacks %q", err, want)
				}
			}
		})
	}
}

func TestServiceErrorsAndThrottlingAreRetried(t *testing.T) {
	throttle := apiError(429, "TooManyRequestsException", `{"Reason":"ConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded."}`)
	i, s := fake(t, nil,
		apiError(500, "ServiceException", `{"Message":"internal"}`),
		fakeResponse{status: 502, headers: map[string]string{"Content-Type": "text/html"}, body: "<html>bad gateway</html>"}, // a proxy, not Lambda
		throttle, throttle, okResponse)
	res, err := i.Invoke(context.Background(), lambda.Invocation{Payload: []byte(`{}`)})
	if err != nil || res.Outcome != lambda.OK || string(res.Payload) != `"done"` || res.RequestID != "fake-request" {
		t.Fatalf("res %+v, err %v", res, err)
	}
	if st := i.Stats(); s.requests.Load() != 5 || st.Attempts != 5 || st.ServiceErrors != 2 || st.Throttles != 2 || st.Invocations != 1 {
		t.Fatalf("%d requests, stats %+v", s.requests.Load(), st)
	}
	if r := i.Reach(); r != (lambda.Reach{Answered: 1}) {
		t.Fatalf("reach %+v: throttling and service errors are answers, not unreachability", r)
	}
}

func TestRetriesAreBoundedInTime(t *testing.T) {
	i, s := fake(t, func(c *Config) { c.RetryFor = 300 * time.Millisecond },
		apiError(429, "TooManyRequestsException", `{"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","message":"Rate Exceeded."}`))
	start := time.Now()
	_, err := i.Invoke(context.Background(), lambda.Invocation{})
	var e *Error
	if !errors.Is(err, ErrThrottled) || !errors.As(err, &e) || e.Attempts < 2 || int64(e.Attempts) != s.requests.Load() {
		t.Fatalf("err %v after %d requests", err, s.requests.Load())
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("gave up after %v, the budget is 300ms", took)
	}
	if !strings.Contains(err.Error(), "ReservedFunctionConcurrentInvocationLimitExceeded") || !strings.Contains(err.Error(), "gave up after") {
		t.Fatalf("message %q", err)
	}
}

func TestUnreachableEndpointIsRetriedThenNamed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	i := newInvoker(t, "http://"+addr, func(c *Config) { c.RetryFor = 200 * time.Millisecond })
	_, err = i.Invoke(context.Background(), lambda.Invocation{})
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "kappa lambda-local") || i.Stats().Attempts < 2 {
		t.Fatalf("err %v, stats %+v", err, i.Stats())
	}
	if r := i.Reach(); !errors.Is(err, lambda.ErrPlatformUnreachable) || r.Unreachable < 2 || r.Answered != 0 {
		t.Fatalf("err %v, reach %+v: want lambda.ErrPlatformUnreachable and every attempt counted", err, r)
	}
}

func TestNoAnswerIsNotRetried(t *testing.T) {
	slow := okResponse
	slow.delay = time.Second
	i, s := fake(t, func(c *Config) { c.AttemptMargin = 100 * time.Millisecond }, slow)
	_, err := i.Invoke(context.Background(), lambda.Invocation{Timeout: 100 * time.Millisecond})
	if !errors.Is(err, ErrNoAnswer) || !errors.Is(err, lambda.ErrPlatformUnreachable) || s.requests.Load() != 1 || !strings.Contains(err.Error(), "may have run") {
		t.Fatalf("err %v after %d requests", err, s.requests.Load())
	}
}

// The leader's step-down rule sees only lambda.ErrPlatformUnreachable: it
// must match the kinds where Lambda was not reached, and no answer.
func TestOnlyReachKindsArePlatformUnreachable(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&Error{Kind: ErrUnreachable}, true},
		{fmt.Errorf("wrapped: %w", &Error{Kind: ErrNoAnswer}), true},
		{&Error{Kind: ErrThrottled}, false},
		{&Error{Kind: ErrService}, false},
		{&Error{Kind: ErrFunctionNotFound}, false},
		{&Error{Kind: ErrAccessDenied}, false},
		{&Error{Kind: ErrBadCredentials}, false},
		{&Error{Kind: ErrRejected}, false},
	} {
		if got := errors.Is(c.err, lambda.ErrPlatformUnreachable); got != c.want {
			t.Errorf("errors.Is(%v, lambda.ErrPlatformUnreachable) = %v, want %v", c.err, got, c.want)
		}
	}
}

func TestCancelStopsRetrying(t *testing.T) {
	i, _ := fake(t, func(c *Config) { c.BackoffMin, c.BackoffMax = time.Second, time.Second }, apiError(500, "ServiceException", `{}`))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := i.Invoke(ctx, lambda.Invocation{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want the caller's deadline", err)
	}
}

func TestEventIsAccepted(t *testing.T) {
	i, _ := fake(t, nil, fakeResponse{status: 202})
	if id, err := i.InvokeEvent(context.Background(), lambda.Invocation{}); err != nil || id != "fake-request" {
		t.Fatalf("id %q, err %v", id, err)
	}
}

func TestNoFunctionIsAClearError(t *testing.T) {
	i := newInvoker(t, "http://127.0.0.1:1", func(c *Config) { c.Function = "" })
	if _, err := i.Invoke(context.Background(), lambda.Invocation{}); err == nil || !strings.Contains(err.Error(), "no function") {
		t.Fatalf("err %v", err)
	}
}
