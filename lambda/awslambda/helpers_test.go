package awslambda

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/kappa-serverless/kappa/lambda"
	"github.com/kappa-serverless/kappa/lambda/internal/localtest"
	"github.com/kappa-serverless/kappa/lambda/lambdaapi"
	"github.com/kappa-serverless/kappa/lambda/local"
)

const testFunction = "kappa-worker"

var event = localtest.Event

// localStack serves one real local platform (throttling, as in front of the
// Invoke API) through lambdaapi on an httptest server and returns an
// Invoker pointed at it.
func localStack(t testing.TB, tune func(*local.Config), tuneInvoker func(*Config)) (*Invoker, *local.Platform) {
	t.Helper()
	p := localtest.Platform(t, func(c *local.Config) {
		c.Throttle = true
		if tune != nil {
			tune(c)
		}
	})
	s, err := lambdaapi.NewServer(lambdaapi.Config{Functions: map[string]*local.Platform{testFunction: p}, Logger: quiet(t), Credentials: &testCredentials})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(func() {
		hs.Close()
		s.Close()
	})
	return newInvoker(t, hs.URL, tuneInvoker), p
}

// testCredentials sign every request of the tests' invokers, and
// localStack's Invoke API checks them.
var testCredentials = lambdaapi.Credentials{AccessKeyID: "AKIDKAPPATEST", SecretAccessKey: "kappa-test-secret"}

func newInvoker(t testing.TB, endpoint string, tune func(*Config)) *Invoker {
	t.Helper()
	cfg := Config{Function: testFunction, Endpoint: endpoint, Logger: quiet(t), BackoffMin: 10 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		Credentials: credentials.NewStaticCredentialsProvider(testCredentials.AccessKeyID, testCredentials.SecretAccessKey, "")}
	if tune != nil {
		tune(&cfg)
	}
	i, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

func quiet(t testing.TB) *slog.Logger { return localtest.Config(t).Logger }

func invoke(t testing.TB, i *Invoker, payload []byte) lambda.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := i.Invoke(ctx, lambda.Invocation{Payload: payload})
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	return res
}

func wantOutcome(t testing.TB, res lambda.Result, want lambda.Outcome) {
	t.Helper()
	if res.Outcome != want {
		t.Fatalf("outcome %v (%s), want %v; payload %s; log:\n%s", res.Outcome, res.Message, want, res.Payload, res.LogTail)
	}
}

// scripted is a fake Lambda API answering each request with the next of
// its responses (the last one repeats).
type scripted struct {
	responses []fakeResponse
	requests  atomic.Int64
}

type fakeResponse struct {
	status  int
	headers map[string]string
	body    string
	delay   time.Duration // before answering
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(s.requests.Add(1))
	resp := s.responses[min(n, len(s.responses))-1]
	time.Sleep(resp.delay)
	w.Header().Set("X-Amzn-RequestId", "fake-request")
	for k, v := range resp.headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(resp.status)
	_, _ = w.Write([]byte(resp.body))
}

// apiError is a fake Lambda error response.
func apiError(status int, code, body string) fakeResponse {
	return fakeResponse{status: status, headers: map[string]string{"X-Amzn-ErrorType": code, "Content-Type": "application/json"}, body: body}
}

var okResponse = fakeResponse{status: 200, headers: map[string]string{"X-Amz-Executed-Version": "$LATEST"}, body: `"done"`}
