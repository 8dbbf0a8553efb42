package harness

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Receiver is the destination of workloads' external calls: it applies an
// effect the first time it sees an idempotency key and counts every POST
// as an attempt of its key. It answers only after a delay, so a lambda
// killed between the effect and the commit of its result is likely, and
// the re-run must be absorbed by the key.
type Receiver struct {
	srv   *httptest.Server
	delay time.Duration

	mu          sync.Mutex
	attempts    map[string]int // POSTs per key
	maxAttempt  map[string]int // the highest call.attempt a POST reported, per key
	appliedItem map[string]int // key → the item whose effect it applied
	effects     map[int]int    // applied effects per item
}

// NewReceiver serves on 127.0.0.1; NewReceiverOn on ip (a Network's HostIP).
func NewReceiver(t testing.TB, delay time.Duration) *Receiver {
	return NewReceiverOn(t, "127.0.0.1", delay)
}

func NewReceiverOn(t testing.TB, ip string, delay time.Duration) *Receiver {
	r := &Receiver{delay: delay, attempts: map[string]int{}, maxAttempt: map[string]int{}, appliedItem: map[string]int{}, effects: map[int]int{}}
	l, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
	r.srv.Listener.Close()
	r.srv.Listener = l
	r.srv.Start()
	t.Cleanup(r.srv.Close)
	return r
}

// URL is where workloads POST their effects.
func (r *Receiver) URL() string { return r.srv.URL + "/effect" }

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Item int `json:"item"`
	}
	key := req.Header.Get("Idempotency-Key")
	if err := json.NewDecoder(req.Body).Decode(&body); err != nil || key == "" {
		http.Error(w, "want a JSON body and an Idempotency-Key", http.StatusBadRequest)
		return
	}
	attempt, _ := strconv.Atoi(req.Header.Get("Kappa-Attempt"))
	r.mu.Lock()
	r.attempts[key]++
	r.maxAttempt[key] = max(r.maxAttempt[key], attempt)
	_, seen := r.appliedItem[key]
	if !seen {
		r.appliedItem[key] = body.Item
		r.effects[body.Item]++
	}
	r.mu.Unlock()
	time.Sleep(r.delay)
	json.NewEncoder(w).Encode(map[string]bool{"applied": !seen})
}

// EffectCounts says, for items 0..n-1, how many were never applied (lost)
// and how many more than once (duplicated), with a line per problem.
func (r *Receiver) EffectCounts(n int) (lost, duplicated int, problems []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := 0; i < n; i++ {
		switch k := r.effects[i]; {
		case k == 0:
			lost++
			problems = append(problems, fmt.Sprintf("effect of item %d never applied", i))
		case k > 1:
			duplicated += k - 1
			problems = append(problems, fmt.Sprintf("effect of item %d applied %d times", i, k))
		}
	}
	return lost, duplicated, problems
}

// Summary counts keys, POSTs and retries.
func (r *Receiver) Summary() (keys, posts, retried, maxAttempt int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for key, a := range r.attempts {
		posts += a
		if a > 1 || r.maxAttempt[key] > 1 {
			retried++
		}
		maxAttempt = max(maxAttempt, r.maxAttempt[key])
	}
	return len(r.attempts), posts, retried, maxAttempt
}

// Check fails t unless items 0..n-1 each had exactly one applied effect,
// under keys that each were applied once, and logs the attempts.
func (r *Receiver) Check(t testing.TB, n int) {
	t.Helper()
	_, _, problems := r.EffectCounts(n)
	for _, p := range problems {
		t.Error(p)
	}
	r.mu.Lock()
	if len(r.effects) != n || len(r.appliedItem) != n {
		t.Errorf("%d items and %d keys applied, want %d of each", len(r.effects), len(r.appliedItem), n)
	}
	var retried []string
	for key, a := range r.attempts {
		if a > 1 || r.maxAttempt[key] > 1 {
			retried = append(retried, fmt.Sprintf("%s: %d POSTs, call.attempt up to %d", key, a, r.maxAttempt[key]))
		}
	}
	r.mu.Unlock()
	sort.Strings(retried)
	keys, posts, nretried, maxAttempt := r.Summary()
	t.Logf("external calls: %d keys, %d POSTs (attempts ≥ 1 each), %d applied effects (1 per key); %d keys retried, highest call.attempt %d",
		keys, posts, len(r.appliedItem), nretried, maxAttempt)
	for _, line := range retried {
		t.Logf("  retried %s", line)
	}
}
