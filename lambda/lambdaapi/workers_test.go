package lambdaapi

import (
	"encoding/json"
	"net/http"
	"syscall"
	"testing"
	"time"
)

func getWorkers(t *testing.T, url, function string) (Workers, int) {
	t.Helper()
	resp, err := http.Get(url + "/kappa/functions/" + function + "/workers")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var w Workers
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&w); err != nil {
			t.Fatal(err)
		}
	}
	return w, resp.StatusCode
}

// The workers operation names exactly the worker inside an invocation (not
// an idle warm one), and killing it shows as a crash.
func TestWorkersListsServingPIDsAndCountsTheCrash(t *testing.T) {
	url, _ := serve(t, nil)
	post(t, url, "fn", testEvent("echo", nil)) // leaves a warm, idle worker
	if w, code := getWorkers(t, url, "fn"); code != http.StatusOK || len(w.ServingPIDs) != 0 || w.Idle != 1 || w.Invocations != 1 {
		t.Fatalf("after one invocation: %d %+v, want none serving, one idle, one invocation", code, w)
	}
	done := make(chan reply, 1)
	go func() { done <- post(t, url, "fn", testEvent("sleep", map[string]any{"seconds": 30})) }()
	var w Workers
	for deadline := time.Now().Add(30 * time.Second); len(w.ServingPIDs) == 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		w, _ = getWorkers(t, url, "fn")
	}
	if len(w.ServingPIDs) != 1 {
		t.Fatalf("during an invocation: %+v, want one serving worker", w)
	}
	if err := syscall.Kill(w.ServingPIDs[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.header.Get("X-Amz-Function-Error") != "Unhandled" {
		t.Fatalf("the killed invocation answered %d %s", r.status, r.body)
	}
	if w, _ := getWorkers(t, url, "fn"); len(w.ServingPIDs) != 0 || w.Crashes != 1 {
		t.Fatalf("after the kill: %+v, want none serving and one crash", w)
	}
	if _, code := getWorkers(t, url, "nope"); code != http.StatusNotFound {
		t.Fatalf("an unknown function: %d, want 404", code)
	}
}
