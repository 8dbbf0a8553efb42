package lambdaapi

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/lambda/internal/localtest"
	"github.com/kappa-serverless/kappa/lambda/local"
)

func TestServeStopsWithItsContext(t *testing.T) {
	p := localtest.Platform(t, nil)
	s, err := NewServer(Config{Functions: map[string]*local.Platform{"fn": p}, Logger: localtest.Config(t).Logger, AllowUnsigned: true})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx, ln) }()
	if r := post(t, "http://"+ln.Addr().String(), "fn", testEvent("echo", nil)); r.status != http.StatusOK {
		t.Fatalf("status %d %s", r.status, r.body)
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return")
	}
	if _, err := http.Post("http://"+ln.Addr().String()+"/", "", nil); err == nil {
		t.Fatal("still serving after shutdown")
	}
}

func TestNewServerChecksFunctions(t *testing.T) {
	p := localtest.Platform(t, nil)
	for _, tc := range []struct {
		fns  map[string]*local.Platform
		want string
	}{
		{nil, "no functions"},
		{map[string]*local.Platform{"bad name!": p}, "not a valid function name"},
		{map[string]*local.Platform{"fn": nil}, "no platform"},
	} {
		if _, err := NewServer(Config{Functions: tc.fns, AllowUnsigned: true}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want %q", tc.fns, err, tc.want)
		}
	}
}

func TestSplitFunction(t *testing.T) {
	for in, want := range map[string][2]string{
		"fn":              {"fn", ""},
		"fn:prod":         {"fn", "prod"},
		"1:function:fn":   {"fn", ""},
		"1:function:fn:3": {"fn", "3"},
		"arn:aws:lambda:eu-west-1:1:function:fn:$LATEST": {"fn", "$LATEST"},
		"a:b:c": {"a:b:c", ""},
	} {
		if name, q := splitFunction(in); name != want[0] || q != want[1] {
			t.Errorf("%s: %q %q, want %q", in, name, q, want)
		}
	}
}

func TestStartFunctionsThrottles(t *testing.T) {
	cfg := localtest.Config(t)
	cfg.MemoryMB = 256
	fns, err := StartFunctions(map[string]local.Config{"a": cfg, "b": cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer CloseFunctions(fns)
	if len(fns) != 2 || !fns["a"].Config().Throttle || fns["b"].Config().MemoryMB != 256 {
		t.Fatalf("%v", fns)
	}
	cfg.MemoryMB = -1
	if _, err := StartFunctions(map[string]local.Config{"bad": cfg}); err == nil || !strings.Contains(err.Error(), `function "bad"`) {
		t.Fatalf("err %v", err)
	}
}
