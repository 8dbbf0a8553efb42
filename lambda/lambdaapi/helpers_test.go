package lambdaapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/kappa-serverless/kappa/lambda/internal/localtest"
	"github.com/kappa-serverless/kappa/lambda/local"
)

// serve starts an Invoke API server for one function "fn" over a real local
// platform and returns its base URL.
func serve(t *testing.T, tune func(*local.Config)) (string, *local.Platform) {
	t.Helper()
	p := localtest.Platform(t, func(c *local.Config) {
		c.Throttle = true
		if tune != nil {
			tune(c)
		}
	})
	s, err := NewServer(Config{Functions: map[string]*local.Platform{"fn": p}, Logger: localtest.Config(t).Logger, AllowUnsigned: true})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(func() {
		hs.Close()
		s.Close()
	})
	return hs.URL, p
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

// post sends an Invoke request; headers are name, value pairs.
func post(t *testing.T, url, function string, payload []byte, headers ...string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/2015-03-31/functions/"+function+"/invocations", bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return do(t, req)
}

// do sends req and reads the whole answer.
func do(t *testing.T, req *http.Request) reply {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, body}
}

func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

// wantAPIError checks an error response as the SDK reads it.
func (r reply) wantAPIError(t *testing.T, status int, code string) map[string]any {
	t.Helper()
	if r.status != status || r.header.Get("X-Amzn-ErrorType") != code || r.header.Get("X-Amzn-RequestId") == "" {
		t.Fatalf("status %d, error type %q, request id %q, want %d %s; body %s",
			r.status, r.header.Get("X-Amzn-ErrorType"), r.header.Get("X-Amzn-RequestId"), status, code, r.body)
	}
	return r.json(t)
}
