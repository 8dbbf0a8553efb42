package effects

import (
	"encoding/json"
	"fmt"
	"github.com/kappa-serverless/kappa/jepsen-style-tests/harness"
	"testing"
)

// workload exercises everything the faults must not break, in one job:
//   - queue "a": 3 producers, 1 consumer, capacity 4 (strict FIFO per producer);
//   - queue "b": 2 producers, 3 consumers, a rendezvous (capacity 0);
//   - a spawn tree of depth 3 and fan-out 3 whose leaves return their labels;
//   - external calls that POST each item once to the counting service.
//
// Tasks sleep a little between steps so the job lasts long enough for the
// faults to land everywhere.
const workload = `
import json
import time
import urllib.request
from kappa import call_external, checkpoint, create_queue, spawn, wait

def produce(q, p, n, batch):
    i = 0
    while i < n:
        items = []
        for j in range(i, min(i + batch, n)):
            items.append([p, j])
        q.enqueue(*items)
        i += batch
        time.sleep(0.05)
    return n

def consume(q):
    got = []
    while True:
        item = q.dequeue()
        if item is None:
            return got
        got.append(item)

` + harness.SpawnTree + `
` + harness.ExternalEffects + `
def handler(event, context):
    a = create_queue(4)
    b = create_queue(0)
    n, effect_tasks, per_task = event["items"], event["effect_tasks"], event["effects_per_task"]
    a_producers, b_producers, b_consumers = [], [], []
    for p in range(3):
        a_producers.append(spawn(produce, (a, p, n, 3)))
    a_consumer = spawn(consume, (a,))
    for p in range(2):
        b_producers.append(spawn(produce, (b, p, n, 2)))
    for c in range(3):
        b_consumers.append(spawn(consume, (b,)))
    root = spawn(tree, (3, 3, 0))
    posting = []
    for e in range(effect_tasks):
        posting.append(spawn(effects, (event["service"], e * per_task, per_task)))
    wait(a_producers)
    a.enqueue(None)
    wait(b_producers)
    b.enqueue(None, None, None)
    return {"a": a_consumer.wait(), "b": wait(b_consumers), "tree": root.wait(), "effects": sum(wait(posting), [])}
`

type workloadEvent struct {
	Items          int    `json:"items"`
	EffectTasks    int    `json:"effect_tasks"`
	EffectsPerTask int    `json:"effects_per_task"`
	Service        string `json:"service"`
}

func (e workloadEvent) JSON() string {
	b, _ := json.Marshal(e)
	return string(b)
}

type workloadResult struct {
	A       [][2]int   `json:"a"`
	B       [][][2]int `json:"b"`
	Tree    int        `json:"tree"`
	Effects []int      `json:"effects"`
}

// checkWorkload checks the job's result: every queue item delivered
// exactly once and in order per producer (per consumer, for queue b's
// three consumers), the spawn tree's sum, and every external call's result.
func checkWorkload(t *testing.T, resultJSON string, ev workloadEvent) {
	t.Helper()
	var r workloadResult
	if err := json.Unmarshal([]byte(resultJSON), &r); err != nil {
		t.Fatalf("result %s: %v", resultJSON, err)
	}
	for _, p := range checkQueue("a", [][][2]int{r.A}, 3, ev.Items) {
		t.Error(p)
	}
	for _, p := range checkQueue("b", r.B, 2, ev.Items) {
		t.Error(p)
	}
	if r.Tree != 351 { // the leaves' labels: 0 + 1 + … + 26
		t.Errorf("spawn tree: %d, want 351", r.Tree)
	}
	if n := ev.EffectTasks * ev.EffectsPerTask; len(r.Effects) != n {
		t.Errorf("%d external call results, want %d", len(r.Effects), n)
	}
	for i, v := range r.Effects {
		if v != i {
			t.Errorf("external call %d returned %d", i, v)
			break
		}
	}
	t.Logf("queues: %d items through a (1 consumer), %d through b (3 consumers), each once and in order; tree 351",
		len(r.A), len(r.B[0])+len(r.B[1])+len(r.B[2]))
}

// checkQueue: every producer's items 0..n-1 arrive exactly once, and each
// consumer sees every producer's items in increasing order.
func checkQueue(name string, consumers [][][2]int, producers, n int) []string {
	var problems []string
	seen := map[[2]int]int{}
	for c, items := range consumers {
		last := map[int]int{}
		for _, it := range items {
			seen[it]++
			if prev, ok := last[it[0]]; ok && it[1] <= prev {
				problems = append(problems, fmt.Sprintf("queue %s, consumer %d: producer %d's item %d after %d", name, c, it[0], it[1], prev))
			}
			last[it[0]] = it[1]
		}
	}
	for p := 0; p < producers; p++ {
		for i := 0; i < n; i++ {
			if k := seen[[2]int{p, i}]; k != 1 {
				problems = append(problems, fmt.Sprintf("queue %s: producer %d's item %d delivered %d times", name, p, i, k))
			}
		}
	}
	if total := len(seen); total != producers*n {
		problems = append(problems, fmt.Sprintf("queue %s: %d distinct items, want %d", name, total, producers*n))
	}
	return problems
}
