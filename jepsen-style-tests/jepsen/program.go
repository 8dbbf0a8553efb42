// Package jepsen runs the Jepsen-style suite: a cluster in a
// fault-injecting network, workloads whose every operation is recorded,
// the nemesis on a seeded schedule, and the checkers, ending in a report.
package jepsen

import (
	"encoding/json"
	"github.com/kappa-serverless/kappa/jepsen-style-tests/harness"
	"strconv"
)

// pipeline is one job of the main workload:
//   - a bounded queue (capacity 3) with 2 producers and 2 consumers, every
//     enqueue and dequeue recorded with wall-clock times around the call
//     (taken before the checkpoint that precedes the RPC and after its
//     response, so the interval holds the RPC's commit even across a
//     relaunch);
//   - a spawn tree of depth 2 and fan-out 3 whose leaves return labels;
//   - a long checkpointing loop;
//   - exactly-once external calls to the counting receiver.
const pipeline = `
import json
import time
import urllib.request
from kappa import call_external, checkpoint, create_queue, spawn, wait

def produce(q, p, n, batch):
    log = []
    i = 0
    while i < n:
        items = []
        for j in range(i, min(i + batch, n)):
            items.append([p, j])
        t0 = time.time_ns()
        q.enqueue(*items)
        log.append([items, t0, time.time_ns()])
        i += batch
        time.sleep(0.05)
    return log

def consume(q):
    log = []
    while True:
        t0 = time.time_ns()
        item = q.dequeue()
        log.append([item, t0, time.time_ns()])
        if item is None:
            return log

` + harness.SpawnTree + `
def loop(steps):
    acc = 1
    for s in range(steps):
        acc = (acc * 31 + s) % 1000003
        time.sleep(0.1)
        checkpoint()
    return acc

` + harness.ExternalEffects + `
def handler(event, context):
    q = create_queue(3)
    producers, consumers = [], []
    for p in range(2):
        producers.append(spawn(produce, (q, p, event["items"], 2)))
    for c in range(2):
        consumers.append(spawn(consume, (q,)))
    root = spawn(tree, (2, 3, 0))
    looping = spawn(loop, (event["steps"],))
    posting = spawn(effects, (event["service"], event["first_effect"], event["effects"]))
    producer_logs = wait(producers)
    q.enqueue(None, None)
    return {"producers": producer_logs, "consumers": wait(consumers), "tree": root.wait(),
            "loop": looping.wait(), "effects": posting.wait()}
`

type pipelineEvent struct {
	Items       int    `json:"items"`
	Steps       int    `json:"steps"`
	Service     string `json:"service"`
	FirstEffect int    `json:"first_effect"`
	Effects     int    `json:"effects"`
}

func (e pipelineEvent) JSON() string {
	b, _ := json.Marshal(e)
	return string(b)
}

// treeSum is what the fault-free run's tree gives: its leaves' labels
// 0..8 summed.
const treeSum = 36

// loopResult is what the fault-free run's loop gives.
func loopResult(steps int) int {
	acc := 1
	for s := 0; s < steps; s++ {
		acc = (acc*31 + s) % 1000003
	}
	return acc
}

// short is the client workload's job: it sleeps, then doubles its value.
const short = `
import time

def handler(event, context):
    time.sleep(event["sleep"])
    return event["value"] * 2
`

func shortWant(value int) string { return strconv.Itoa(value * 2) }
