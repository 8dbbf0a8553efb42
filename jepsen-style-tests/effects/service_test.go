package effects

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"
)

// counter is the receiver of the workload's external calls: it applies an
// effect the first time it sees an idempotency key and counts every POST
// as an attempt of its key. It answers only after a delay, so a lambda
// killed between the effect and the commit of its result is likely, and
// the re-run must be absorbed by the key.
type counter struct {
	srv   *httptest.Server
	delay time.Duration

	mu          sync.Mutex
	attempts    map[string]int // POSTs per key
	maxAttempt  map[string]int // the highest call.attempt a POST reported, per key
	appliedItem map[string]int // key → the item whose effect it applied
	effects     map[int]int    // applied effects per item
}

func newCounter(t *testing.T, delay time.Duration) *counter {
	c := &counter{delay: delay, attempts: map[string]int{}, maxAttempt: map[string]int{}, appliedItem: map[string]int{}, effects: map[int]int{}}
	c.srv = httptest.NewServer(http.HandlerFunc(c.serve))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *counter) URL() string { return c.srv.URL + "/effect" }

func (c *counter) serve(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Item int `json:"item"`
	}
	key := r.Header.Get("Idempotency-Key")
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || key == "" {
		http.Error(w, "want a JSON body and an Idempotency-Key", http.StatusBadRequest)
		return
	}
	attempt, _ := strconv.Atoi(r.Header.Get("Kappa-Attempt"))
	c.mu.Lock()
	c.attempts[key]++
	c.maxAttempt[key] = max(c.maxAttempt[key], attempt)
	_, seen := c.appliedItem[key]
	if !seen {
		c.appliedItem[key] = body.Item
		c.effects[body.Item]++
	}
	c.mu.Unlock()
	time.Sleep(c.delay)
	json.NewEncoder(w).Encode(map[string]bool{"applied": !seen})
}

// check verifies that items 0..n-1 each had exactly one applied effect,
// under keys that each were applied once, and reports the attempts.
func (c *counter) check(t *testing.T, n int) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := 0; i < n; i++ {
		if c.effects[i] != 1 {
			t.Errorf("item %d: %d applied effects, want 1", i, c.effects[i])
		}
	}
	if len(c.effects) != n || len(c.appliedItem) != n {
		t.Errorf("%d items and %d keys applied, want %d of each", len(c.effects), len(c.appliedItem), n)
	}
	posts, retried, maxAttempt := 0, []string{}, 0
	for key, a := range c.attempts {
		if a < 1 {
			t.Errorf("key %s: %d attempts", key, a)
		}
		posts += a
		if a > 1 || c.maxAttempt[key] > 1 {
			retried = append(retried, fmt.Sprintf("%s: %d POSTs, call.attempt up to %d", key, a, c.maxAttempt[key]))
		}
		maxAttempt = max(maxAttempt, c.maxAttempt[key])
	}
	sort.Strings(retried)
	t.Logf("external calls: %d keys, %d POSTs (attempts ≥ 1 each), %d applied effects (1 per key); %d keys retried, highest call.attempt %d",
		len(c.attempts), posts, len(c.appliedItem), len(retried), maxAttempt)
	for _, r := range retried {
		t.Logf("  retried %s", r)
	}
}
