package deploy

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/lambda/awslambda"
)

// fakeLambda answers the Lambda control-plane API for one function the way
// AWS does: 404 ResourceNotFoundException until it is created, State
// Pending for a poll after creating and LastUpdateStatus InProgress for a
// poll after each update, so the waiters must really wait.
type fakeLambda struct {
	t        *testing.T
	mu       sync.Mutex
	exists   bool
	pending  int    // polls still to answer Pending / InProgress
	status   string // "create" or "update": which field pending applies to
	calls    []string
	bodies   map[string]map[string]any
	denyCall string // answer this call with AccessDeniedException
}

func newFakeLambda(t *testing.T) (*fakeLambda, *httptest.Server) {
	f := &fakeLambda{t: t, bodies: map[string]map[string]any{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeLambda) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var body map[string]any
	if b, _ := io.ReadAll(r.Body); len(b) > 0 {
		if err := json.Unmarshal(b, &body); err != nil {
			f.t.Errorf("%s %s: body is not JSON: %v", r.Method, r.URL.Path, err)
		}
	}
	call := callName(r.Method, r.URL.Path)
	f.calls = append(f.calls, call)
	if body != nil {
		f.bodies[call] = body
	}
	if call == f.denyCall {
		w.Header().Set("X-Amzn-Errortype", "AccessDeniedException")
		w.WriteHeader(http.StatusForbidden)
		json.NewEncoder(w).Encode(map[string]string{"Message": "User: arn:aws:iam::1:user/x is not authorized"})
		return
	}
	switch call {
	case "GetFunction":
		if !f.exists {
			w.Header().Set("X-Amzn-Errortype", "ResourceNotFoundException")
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(map[string]string{"Type": "User", "Message": "Function not found: arn:aws:lambda:local:1:function:kw"})
			return
		}
		state, update := "Active", "Successful"
		if f.pending > 0 {
			f.pending--
			if f.status == "create" {
				state = "Pending"
			} else {
				update = "InProgress"
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"Configuration": config(state, update)})
	case "CreateFunction":
		f.exists, f.pending, f.status = true, 1, "create"
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(config("Pending", ""))
	case "UpdateFunctionCode", "UpdateFunctionConfiguration":
		f.pending, f.status = 1, "update"
		json.NewEncoder(w).Encode(config("Active", "InProgress"))
	case "PutFunctionEventInvokeConfig":
		json.NewEncoder(w).Encode(map[string]any{"FunctionArn": "arn:aws:lambda:local:1:function:kw", "MaximumRetryAttempts": body["MaximumRetryAttempts"]})
	default:
		f.t.Errorf("unexpected call %s %s", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusNotFound)
	}
}

func config(state, update string) map[string]any {
	return map[string]any{"FunctionName": "kw", "FunctionArn": "arn:aws:lambda:local:1:function:kw", "State": state,
		"LastUpdateStatus": update, "CodeSha256": "c29tZXNoYQ=="}
}

func callName(method, path string) string {
	switch {
	case method == http.MethodPost && path == "/2015-03-31/functions":
		return "CreateFunction"
	case method == http.MethodGet && path == "/2015-03-31/functions/kw":
		return "GetFunction"
	case method == http.MethodPut && path == "/2015-03-31/functions/kw/code":
		return "UpdateFunctionCode"
	case method == http.MethodPut && path == "/2015-03-31/functions/kw/configuration":
		return "UpdateFunctionConfiguration"
	case method == http.MethodPut && path == "/2019-09-25/functions/kw/event-invoke-config":
		return "PutFunctionEventInvokeConfig"
	}
	return method + " " + path
}

func (f *fakeLambda) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

func testFunction() Function {
	return Function{Name: "kw", Role: "arn:aws:iam::1:role/kappa-worker", MemoryMB: 512, TimeoutS: 60,
		PollMin: 10 * time.Millisecond, Wait: 30 * time.Second}
}

func apiClient(t *testing.T, url string) API {
	c, err := awslambda.NewAPIClient(context.Background(), "", url)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFirstDeployCreatesThenUpdates(t *testing.T) {
	fake, srv := newFakeLambda(t)
	api := apiClient(t, srv.URL)
	zip1 := []byte("PK-first-zip")

	res, err := Deploy(context.Background(), api, testFunction(), zip1, nil)
	if err != nil || !res.Created || res.ARN == "" {
		t.Fatalf("create: %+v %v", res, err)
	}
	want := "GetFunction CreateFunction GetFunction GetFunction PutFunctionEventInvokeConfig GetFunction GetFunction"
	if got := strings.Join(fake.take(), " "); got != want {
		t.Fatalf("create calls:\n got %s\nwant %s (the waiter must poll past Pending)", got, want)
	}
	c := fake.bodies["CreateFunction"]
	code, _ := c["Code"].(map[string]any)
	zipSent, _ := base64.StdEncoding.DecodeString(code["ZipFile"].(string))
	if c["Handler"] != Handler || c["Runtime"] != "python3.11" || c["Role"] != testFunction().Role ||
		c["MemorySize"] != float64(512) || c["Timeout"] != float64(60) || !bytes.Equal(zipSent, zip1) {
		t.Fatalf("CreateFunction body: %v", c)
	}
	if r := fake.bodies["PutFunctionEventInvokeConfig"]["MaximumRetryAttempts"]; r != float64(0) {
		t.Fatalf("asynchronous retries not set to zero: %v", fake.bodies["PutFunctionEventInvokeConfig"])
	}

	zip2 := []byte("PK-second-zip")
	f := testFunction()
	f.MemoryMB = 2048
	res, err = Deploy(context.Background(), api, f, zip2, nil)
	if err != nil || res.Created {
		t.Fatalf("update: %+v %v", res, err)
	}
	want = "GetFunction UpdateFunctionCode GetFunction GetFunction UpdateFunctionConfiguration GetFunction GetFunction PutFunctionEventInvokeConfig GetFunction GetFunction"
	if got := strings.Join(fake.take(), " "); got != want {
		t.Fatalf("update calls:\n got %s\nwant %s (each update waited for)", got, want)
	}
	sent, _ := base64.StdEncoding.DecodeString(fake.bodies["UpdateFunctionCode"]["ZipFile"].(string))
	if !bytes.Equal(sent, zip2) || fake.bodies["UpdateFunctionConfiguration"]["MemorySize"] != float64(2048) ||
		fake.bodies["UpdateFunctionConfiguration"]["Handler"] != Handler {
		t.Fatalf("update bodies: %v", fake.bodies)
	}
}

func TestCreatingWithoutARoleNamesTheFlag(t *testing.T) {
	fake, srv := newFakeLambda(t)
	f := testFunction()
	f.Role = ""
	_, err := Deploy(context.Background(), apiClient(t, srv.URL), f, []byte("PK"), nil)
	if err == nil || !strings.Contains(err.Error(), "pass --role ARN") {
		t.Fatalf("got %v", err)
	}
	if got := strings.Join(fake.take(), " "); got != "GetFunction" {
		t.Fatalf("calls %s: nothing may be created", got)
	}
}

func TestAccessDeniedNamesThePermission(t *testing.T) {
	fake, srv := newFakeLambda(t)
	fake.denyCall = "CreateFunction"
	_, err := Deploy(context.Background(), apiClient(t, srv.URL), testFunction(), []byte("PK"), nil)
	if err == nil || !strings.Contains(err.Error(), "needs lambda:CreateFunction") || !strings.Contains(err.Error(), "iam:PassRole") {
		t.Fatalf("got %v", err)
	}
}

func TestBadConfigurationIsRejectedBeforeAnyCall(t *testing.T) {
	fake, srv := newFakeLambda(t)
	for _, f := range []Function{
		{Name: "", MemoryMB: 512, TimeoutS: 60},
		{Name: "kw", MemoryMB: 64, TimeoutS: 60},
		{Name: "kw", MemoryMB: 512, TimeoutS: 901},
		{Name: "kw", MemoryMB: 512, TimeoutS: 60, Subnets: []string{"subnet-1"}},
	} {
		if _, err := Deploy(context.Background(), apiClient(t, srv.URL), f, []byte("PK"), nil); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%+v: got %v", f, err)
		}
	}
	if calls := fake.take(); len(calls) != 0 {
		t.Fatalf("calls made: %v", calls)
	}
}
