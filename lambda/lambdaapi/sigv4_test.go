package lambdaapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	lambdasdk "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go"

	"github.com/kappa-serverless/kappa/lambda/internal/localtest"
	"github.com/kappa-serverless/kappa/lambda/local"
)

var signing = Credentials{AccessKeyID: "AKIDKAPPATEST", SecretAccessKey: "kappa-test-secret"}

// signedServer serves "fn" and checks every request's signature.
func signedServer(t *testing.T) string {
	t.Helper()
	p := localtest.Platform(t, nil)
	s, err := NewServer(Config{Functions: map[string]*local.Platform{"fn": p}, Logger: localtest.Config(t).Logger, Credentials: &signing})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(func() { hs.Close(); s.Close() })
	return hs.URL
}

// sdkInvoke invokes function with the SDK's Lambda client signing with
// key and secret.
func sdkInvoke(t *testing.T, url, key, secret, function string) error {
	t.Helper()
	client := lambdasdk.NewFromConfig(aws.Config{Region: "local", Credentials: credentials.NewStaticCredentialsProvider(key, secret, ""),
		Retryer: func() aws.Retryer { return aws.NopRetryer{} }}, func(o *lambdasdk.Options) { o.BaseEndpoint = aws.String(url) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := client.Invoke(ctx, &lambdasdk.InvokeInput{FunctionName: aws.String(function), Payload: testEvent("echo", nil)})
	if err == nil && out.FunctionError != nil {
		t.Fatalf("function error: %s", out.Payload)
	}
	return err
}

func errorCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

// TestSignatures: the SDK's signed requests are served (by name and by
// ARN with a qualifier, whose path the SDK escapes); an unsigned, a badly
// signed, an unknown key's, a tampered and a stale request get 403 with
// Lambda's error type, before the function is even looked up.
func TestSignatures(t *testing.T) {
	url := signedServer(t)
	for _, fn := range []string{"fn", "arn:aws:lambda:local:000000000000:function:fn:$LATEST"} {
		if err := sdkInvoke(t, url, signing.AccessKeyID, signing.SecretAccessKey, fn); err != nil {
			t.Fatalf("a signed Invoke of %s: %v", fn, err)
		}
	}
	if err := sdkInvoke(t, url, signing.AccessKeyID, "wrong", "fn"); errorCode(err) != "InvalidSignatureException" {
		t.Errorf("a wrong secret: %v", err)
	}
	if err := sdkInvoke(t, url, "AKIDSOMEONEELSE", signing.SecretAccessKey, "fn"); errorCode(err) != "UnrecognizedClientException" {
		t.Errorf("an unknown key: %v", err)
	}

	// By hand: unsigned (to a function that does not exist: the refusal
	// comes first), tampered after signing, signed too long ago.
	check := func(name string, r reply, want string) {
		t.Helper()
		var body map[string]string
		_ = json.Unmarshal(r.body, &body)
		if r.status != http.StatusForbidden || r.header.Get("X-Amzn-ErrorType") != want || body["message"] == "" {
			t.Errorf("%s: %d %s %s, want 403 %s", name, r.status, r.header.Get("X-Amzn-ErrorType"), r.body, want)
		}
	}
	check("unsigned", post(t, url, "nope", testEvent("echo", nil)), "MissingAuthenticationTokenException")

	signed := func(payload []byte) *http.Request {
		req, _ := http.NewRequest(http.MethodPost, url+"/2015-03-31/functions/fn/invocations", bytes.NewReader(payload))
		if err := Sign(req, payload, signing, "local"); err != nil {
			t.Fatal(err)
		}
		return req
	}
	if r := do(t, signed(testEvent("echo", nil))); r.status != http.StatusOK {
		t.Fatalf("signed by Sign: %d %s", r.status, r.body)
	}
	// The same length, other bytes: only the signature can tell.
	req := signed(testEvent("echo", nil))
	forged := bytes.Replace(testEvent("echo", nil), []byte("echo"), []byte("ohce"), 1)
	req.Body = io.NopCloser(bytes.NewReader(forged))
	check("tampered", do(t, req), "InvalidSignatureException")

	// A signature made 10 minutes ago (so otherwise right).
	payload := testEvent("echo", nil)
	stale, _ := http.NewRequest(http.MethodPost, url+"/2015-03-31/functions/fn/invocations", bytes.NewReader(payload))
	sum := sha256.Sum256(payload)
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: signing.AccessKeyID, SecretAccessKey: signing.SecretAccessKey},
		stale, hex.EncodeToString(sum[:]), "lambda", "local", time.Now().Add(-10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	r := do(t, stale)
	check("stale", r, "InvalidSignatureException")
	if !strings.Contains(string(r.body), "Signature expired") {
		t.Errorf("stale: %s", r.body)
	}

	// The workers listing is signed like the rest.
	get, _ := http.NewRequest(http.MethodGet, url+"/kappa/functions/fn/workers", nil)
	check("unsigned workers", do(t, get), "MissingAuthenticationTokenException")
	get, _ = http.NewRequest(http.MethodGet, url+"/kappa/functions/fn/workers", nil)
	if err := Sign(get, nil, signing, "local"); err != nil {
		t.Fatal(err)
	}
	if r := do(t, get); r.status != http.StatusOK {
		t.Errorf("signed workers: %d %s", r.status, r.body)
	}
}

func TestNewServerNeedsCredentials(t *testing.T) {
	p := localtest.Platform(t, nil)
	fns := map[string]*local.Platform{"fn": p}
	if _, err := NewServer(Config{Functions: fns}); err == nil || !strings.Contains(err.Error(), "no credentials") {
		t.Errorf("no credentials: %v", err)
	}
	if _, err := NewServer(Config{Functions: fns, Credentials: &Credentials{AccessKeyID: "a"}}); err == nil {
		t.Error("a key without a secret was accepted")
	}
}
