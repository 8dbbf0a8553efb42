package lambdaapi

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/kappa-serverless/kappa/lambda/local"
)

// FuzzInvokeFront throws arbitrary requests at the Invoke API front: the
// function name and qualifier in the path, the invocation and log types,
// the body. Whatever arrives, the server answers with a status, and an
// error answer is Lambda's JSON error shape with its type header. A
// request that would run a function is made a DryRun, so the fuzzer
// exercises everything up to the invocation without starting workers.
func FuzzInvokeFront(f *testing.F) {
	// The interpreter never starts: every invocation is a DryRun.
	p, err := local.New(local.Config{Python: "/bin/false"})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { p.Close() })
	// ServeHTTP checks a signature before anything else; the fuzzer's
	// requests are unsigned, so it exercises what a signed request reaches.
	s, err := NewServer(Config{Functions: map[string]*local.Platform{"fn": p}, AllowUnsigned: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(s.Close)
	for _, seed := range []struct{ method, path, invType, logType, body string }{
		{"POST", "/2015-03-31/functions/fn/invocations", "", "", `{"a": 1}`},
		{"POST", "/2015-03-31/functions/arn:aws:lambda:local:000000000000:function:fn:$LATEST/invocations", "Event", "Tail", `{}`},
		{"POST", "/2015-03-31/functions/fn/invocations?Qualifier=2", "DryRun", "", ``},
		{"POST", "/2015-03-31/functions/nope/invocations", "Bogus", "None", `[1,`},
		{"GET", "/2015-03-31/functions/fn/invocations", "", "", ``},
		{"POST", "/2015-03-31/functions/000000000000:function:fn/invocations", "RequestResponse", "Tail", `"x"`},
	} {
		f.Add(seed.method, seed.path, seed.invType, seed.logType, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, method, path, invType, logType string, body []byte) {
		if invType == "" || invType == requestResponse || invType == event {
			invType = dryRun
		}
		u, err := url.Parse(path)
		if err != nil || !strings.HasPrefix(path, "/") || !validMethod(method) {
			return // not a request an HTTP server would parse
		}
		req := &http.Request{Method: method, URL: u, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body)),
			ContentLength: int64(len(body)), Host: "local", RequestURI: path}
		req.Header.Set("X-Amz-Invocation-Type", invType)
		req.Header.Set("X-Amz-Log-Type", logType)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code < 200 || rec.Code > 599 {
			t.Fatalf("status %d", rec.Code)
		}
		if rec.Code >= 400 && rec.Code != http.StatusMethodNotAllowed {
			var msg map[string]string
			if rec.Header().Get("X-Amzn-ErrorType") == "" || json.Unmarshal(rec.Body.Bytes(), &msg) != nil {
				t.Fatalf("error %d without Lambda's shape: %q %q", rec.Code, rec.Header(), rec.Body.String())
			}
		}
	})
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, r := range m {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", r) {
			return false
		}
	}
	return true
}
