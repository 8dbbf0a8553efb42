package drill

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"

	"github.com/kappa-serverless/kappa/checkpoint"
)

// canaryProgram is the drill's pipeline: a spawn tree whose leaves
// checkpoint, a producer and a consumer joined by a bounded queue, and an
// exactly-once external call to the drill's receiver for every item the
// consumer takes. Its result is known in advance (canaryWant).
const canaryProgram = `
import json
import time
import urllib.request
from kappa import call_external, checkpoint, create_queue, spawn, wait


def leaf(label, steps):
    for _ in range(steps):
        time.sleep(0.1)
        checkpoint()
    return label


def tree(depth, fanout, label, steps):
    if depth == 0:
        return leaf(label, steps)
    futures = []
    for k in range(fanout):
        futures.append(spawn(tree, (depth - 1, fanout, label * fanout + k, steps)))
    return sum(wait(futures))


def post(call, service, item):
    request = urllib.request.Request(service, method="POST", data=json.dumps({"item": item}).encode(),
                                     headers={"Content-Type": "application/json", **call.headers()})
    with urllib.request.urlopen(request, timeout=60) as reply:
        json.loads(reply.read())
    return item


def produce(q, items):
    for item in range(items):
        q.enqueue(item)
        time.sleep(0.05)
    q.enqueue(None)
    return items


def consume(q, service):
    got = []
    while True:
        item = q.dequeue()
        if item is None:
            return got
        got.append(call_external(post, service, item))


def handler(event, context):
    q = create_queue(2)
    consumer = spawn(consume, (q, event["service"]))
    producer = spawn(produce, (q, event["items"]))
    root = spawn(tree, (2, 2, 0, event["steps"]))
    return {"produced": producer.wait(), "effects": consumer.wait(), "tree": root.wait()}
`

// canaryEvent is one canary job's input.
type canaryEvent struct {
	Service string `json:"service"`
	Items   int    `json:"items"`
	Steps   int    `json:"steps"`
}

// canaryResult is what the canary returns.
type canaryResult struct {
	Produced int   `json:"produced"`
	Effects  []int `json:"effects"`
	Tree     int   `json:"tree"`
}

// canaryTree is the tree's sum: leaves 0..3 of a depth-2, fanout-2 tree.
const canaryTree = 0 + 1 + 2 + 3

// check compares a canary's result with what it must be.
func (e canaryEvent) check(resultJSON string) error {
	var r canaryResult
	if err := json.Unmarshal([]byte(resultJSON), &r); err != nil {
		return fmt.Errorf("result %q is not the canary's: %v", resultJSON, err)
	}
	want := make([]int, e.Items)
	for i := range want {
		want[i] = i
	}
	switch {
	case r.Produced != e.Items:
		return fmt.Errorf("producer returned %d, want %d", r.Produced, e.Items)
	case !slices.Equal(r.Effects, want):
		return fmt.Errorf("consumer took items %v, want each of 0..%d once in order", r.Effects, e.Items-1)
	case r.Tree != canaryTree:
		return fmt.Errorf("spawn tree returned %d, want %d", r.Tree, canaryTree)
	}
	return nil
}

// canaryBundle builds the canary's bundle in a temporary directory.
func canaryBundle() ([]byte, error) {
	dir, err := os.MkdirTemp("", "kappa-drill-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "canary.py")
	if err := os.WriteFile(path, []byte(canaryProgram), 0o644); err != nil {
		return nil, err
	}
	b, _, err := checkpoint.BuildBundle(path)
	return b, err
}

// receiver is the canary's external service: it applies an effect the
// first time it sees an idempotency key and counts the effects per item,
// so an item whose effect happened twice (a call run again under a new
// key) shows.
type receiver struct {
	srv *http.Server
	url string

	mu      sync.Mutex
	keys    map[string]int // idempotency key → item
	effects map[string]map[int]int
}

// startReceiver listens on ip (reachable from the lambdas).
func startReceiver(ip string) (*receiver, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return nil, fmt.Errorf("the drill's receiver cannot listen on %s (--receiver-ip): %w", ip, err)
	}
	r := &receiver{keys: map[string]int{}, effects: map[string]map[int]int{}}
	r.srv = &http.Server{Handler: r}
	r.url = "http://" + l.Addr().String()
	go r.srv.Serve(l)
	return r, nil
}

func (r *receiver) close() { r.srv.Close() }

// urlFor is where round's canary posts (one path per round).
func (r *receiver) urlFor(round string) string { return r.url + "/" + round }

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Item int `json:"item"`
	}
	key := req.Header.Get("Idempotency-Key")
	if err := json.NewDecoder(req.Body).Decode(&body); err != nil || key == "" {
		http.Error(w, "want a JSON body and an Idempotency-Key", http.StatusBadRequest)
		return
	}
	round := req.URL.Path
	r.mu.Lock()
	if _, seen := r.keys[round+" "+key]; !seen {
		r.keys[round+" "+key] = body.Item
		if r.effects[round] == nil {
			r.effects[round] = map[int]int{}
		}
		r.effects[round][body.Item]++
	}
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"item": %d}`, body.Item)
}

// check says whether every item 0..items-1 of round had its effect once.
func (r *receiver) check(round string, items int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := r.effects["/"+round]
	var twice, missing []int
	for i := 0; i < items; i++ {
		switch n := got[i]; {
		case n == 0:
			missing = append(missing, i)
		case n > 1:
			twice = append(twice, i)
		}
	}
	var extra []int
	for item := range got {
		if item < 0 || item >= items {
			extra = append(extra, item)
		}
	}
	sort.Ints(extra)
	switch {
	case len(twice) > 0:
		return fmt.Errorf("external effects of items %v happened more than once", twice)
	case len(missing) > 0:
		return fmt.Errorf("external effects of items %v never happened", missing)
	case len(extra) > 0:
		return fmt.Errorf("external effects for items %v that were never produced", extra)
	}
	return nil
}
