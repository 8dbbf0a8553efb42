package local

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kappa-serverless/kappa/lambda"
)

func TestWarmReuseAfterSuccessAndFunctionError(t *testing.T) {
	p, _ := testPlatform(t, nil)
	first := invoke(t, p, event("pid", nil), 0)
	wantOutcome(t, first, lambda.OK)
	wantOutcome(t, invoke(t, p, event("fail", nil), 0), lambda.FunctionError)
	second := invoke(t, p, event("pid", nil), 0)
	wantOutcome(t, second, lambda.OK)
	if !first.ColdStart || second.ColdStart || first.InitDuration <= 0 || second.InitDuration != 0 {
		t.Fatalf("cold starts: first %v (init %v), second %v (init %v)", first.ColdStart, first.InitDuration, second.ColdStart, second.InitDuration)
	}
	if string(first.Payload) != string(second.Payload) {
		t.Fatalf("pids %s and %s: the warm worker was not reused", first.Payload, second.Payload)
	}
	if first.RequestID == second.RequestID {
		t.Fatal("request ids repeat")
	}
	if s := p.Stats(); s.ColdStarts != 1 || s.WarmStarts != 2 || s.Idle != 1 || s.Workers != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestNoReuseAfterCrash(t *testing.T) {
	p, _ := testPlatform(t, nil)
	wantOutcome(t, invoke(t, p, event("crash", map[string]any{"how": "exit"}), 0), lambda.Crash)
	if res := invoke(t, p, event("pid", nil), 0); !res.ColdStart {
		t.Fatal("the invocation after a crash should be a cold start")
	}
}

func TestMaxWarmNegativeMeansAlwaysCold(t *testing.T) {
	p, _ := testPlatform(t, func(c *Config) { c.MaxWarm = -1 })
	for range 2 {
		if res := invoke(t, p, event("pid", nil), 0); !res.ColdStart {
			t.Fatal("want a cold start every time")
		}
	}
	eventually(t, 20*time.Second, "surplus workers to stop", func() bool { return p.Stats().Workers == 0 })
}

func TestIdleWorkersExpire(t *testing.T) {
	p, _ := testPlatform(t, func(c *Config) { c.IdleTTL = 300 * time.Millisecond })
	res := invoke(t, p, event("pid", nil), 0)
	pid := decode[int](t, res.Payload)
	eventually(t, 20*time.Second, "the idle worker to be stopped", func() bool {
		s := p.Stats()
		return s.Idle == 0 && s.Workers == 0 && processGone(pid)
	})
	again := invoke(t, p, event("pid", nil), 0)
	if !again.ColdStart || decode[int](t, again.Payload) == pid {
		t.Fatalf("after expiry: cold %v, pid %s (old %d)", again.ColdStart, again.Payload, pid)
	}
}

func TestCloseKillsEverything(t *testing.T) {
	goroutines := runtime.NumGoroutine()
	p, logs := testPlatform(t, nil)
	idle := decode[int](t, invoke(t, p, event("pid", nil), 0).Payload)

	errc := make(chan error, 1)
	go func() {
		_, err := p.Invoke(context.Background(), lambda.Invocation{Payload: event("sleep_with_child", map[string]any{"seconds": 600})})
		errc <- err
	}()
	var busy map[string]int
	eventually(t, 30*time.Second, "the busy worker to print its pids", func() bool {
		for _, l := range logs.all() {
			if strings.HasPrefix(l.text, "pid=") {
				busy = pidsIn(t, l.text)
				return true
			}
		}
		return false
	})

	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("in-flight Invoke returned %v, want ErrClosed", err)
	}
	for _, pid := range []int{idle, busy["pid"]} {
		if !processGone(pid) {
			t.Fatalf("worker %d survived Close", pid)
		}
	}
	eventually(t, 10*time.Second, "the busy worker's child to die", func() bool { return processGone(busy["child"]) })
	if _, err := p.Invoke(t.Context(), lambda.Invocation{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Invoke after Close: %v", err)
	}
	eventually(t, 10*time.Second, "goroutines to end", func() bool { return runtime.NumGoroutine() <= goroutines })
}

func TestHandlerImportErrorIsFunctionError(t *testing.T) {
	p, _ := testPlatform(t, func(c *Config) { c.Handler = "worker_local.broken_import:handler" })
	res := invoke(t, p, event("pid", nil), 0)
	wantOutcome(t, res, lambda.FunctionError)
	e := decode[lambdaError](t, res.Payload)
	if e.ErrorType != "Runtime.ImportModuleError" || !strings.Contains(e.ErrorMessage, "broken on purpose") {
		t.Fatalf("error %+v", e)
	}
	if !res.ColdStart || p.Stats().Workers != 0 {
		t.Fatalf("cold %v, stats %+v", res.ColdStart, p.Stats())
	}
}

// A worker that cannot start answers as Lambda does: a function error
// (or a runtime exit) of that invocation, never an Invoke error, so the
// coordinator counts it as a failed launch.
func TestWorkerThatCannotStartIsAFunctionError(t *testing.T) {
	cases := []struct {
		name, script string
		limit        time.Duration
		outcome      lambda.Outcome
		errorType    string
		message      []string
	}{
		// The real thing: python3 without site-packages has no kappa.
		{"no kappa package", `exec python3 -S -I "$@"`, 0, lambda.FunctionError, "Runtime.ImportModuleError",
			[]string{"cannot import kappa.worker.local", "install the kappa package", "No module named 'kappa'"}},
		{"crash at import", "echo 'Fatal: boom at start-up' >&2; exit 3", 0, lambda.Crash, "Runtime.ExitError",
			[]string{"exit status 3", "before it was ready", "boom at start-up"}},
		{"hang", "exec sleep 600", 500 * time.Millisecond, lambda.Crash, "Runtime.Unknown",
			[]string{"no ready message", "start-up limit"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			python := fakeInterpreter(t, tc.script)
			p, _ := testPlatform(t, func(c *Config) { c.Python = python; c.StartTimeout = tc.limit })
			res := invoke(t, p, nil, 0)
			wantOutcome(t, res, tc.outcome)
			e := decode[lambdaError](t, res.Payload)
			if e.ErrorType != tc.errorType {
				t.Fatalf("errorType %q, want %q (%s)", e.ErrorType, tc.errorType, e.ErrorMessage)
			}
			for _, want := range append(tc.message, python) {
				if !strings.Contains(e.ErrorMessage, want) {
					t.Fatalf("error message %q lacks %q", e.ErrorMessage, want)
				}
			}
			if !res.ColdStart || p.Stats().Workers != 0 {
				t.Fatalf("cold %v, stats %+v", res.ColdStart, p.Stats())
			}
		})
	}
}

func TestVanishedInterpreterIsAFunctionError(t *testing.T) {
	python := fakeInterpreter(t, "exit 0")
	p, _ := testPlatform(t, func(c *Config) { c.Python = python })
	if err := os.Remove(python); err != nil {
		t.Fatal(err)
	}
	res := invoke(t, p, nil, 0)
	wantOutcome(t, res, lambda.FunctionError)
	if e := decode[lambdaError](t, res.Payload); e.ErrorType != "Runtime.InvalidEntrypoint" || !strings.Contains(e.ErrorMessage, python) {
		t.Fatalf("error %+v", e)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{Python: "no-such-python-interpreter"},
		{Handler: "no_colon"},
		{Concurrency: -1},
		{Provisioned: -1},
	} {
		if _, err := New(cfg); err == nil {
			t.Fatalf("New(%+v) succeeded", cfg)
		}
	}
}

func TestWorkerEnvironment(t *testing.T) {
	p, _ := testPlatform(t, func(c *Config) { c.Env = append(c.Env, "KAPPA_TEST_VAR=yes", "PYTHONHASHSEED=7") })
	res := invoke(t, p, event("env", map[string]any{"keys": []string{"KAPPA_TEST_VAR", "PYTHONHASHSEED", "PYTHONUNBUFFERED"}}), 0)
	got := decode[map[string]string](t, res.Payload)
	if got["KAPPA_TEST_VAR"] != "yes" || got["PYTHONHASHSEED"] != "0" || got["PYTHONUNBUFFERED"] != "1" {
		t.Fatalf("env %v", got)
	}
}

// Provisioned workers start with the platform, before any invocation, so
// the first invocations are warm; no more than the concurrency start.
func TestProvisionedWorkersAreWarmBeforeTheFirstInvocation(t *testing.T) {
	p, _ := testPlatform(t, func(c *Config) { c.Concurrency, c.Provisioned = 2, 5 })
	eventually(t, 30*time.Second, "two provisioned workers idle", func() bool { s := p.Stats(); return s.Idle == 2 })
	pids := map[int]bool{}
	for range 2 {
		res := invoke(t, p, event("pid", nil), 0)
		wantOutcome(t, res, lambda.OK)
		if res.ColdStart || res.InitDuration != 0 {
			t.Fatalf("an invocation after provisioning was a cold start (init %v)", res.InitDuration)
		}
		pids[decode[int](t, res.Payload)] = true
	}
	if s := p.Stats(); s.ColdStarts != 0 || s.Workers != 2 {
		t.Fatalf("stats %+v: want no cold start and the two provisioned workers only", s)
	}
}
