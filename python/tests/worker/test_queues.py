"""Queues through the real coordinator: FIFO per producer with many
producers and consumers, rendezvous, consumers that park and are relaunched
with their item, large items through the store, and bad input."""

import os

from worker.kapparun import run_program

MANY = """
import time
from kappa import create_queue, create_queues, spawn, wait

def producer(q, p, n):
    q.enqueue(*[(p, i) for i in range(n // 2)])      # a batch, then one at a time
    for i in range(n // 2, n):
        q.enqueue((p, i))
    return p

def consumer(q, n):
    return [q.dequeue() for _ in range(n)]

def late_producer(q, big):
    time.sleep(2.5)                                  # longer than the busy-wait: consumers park
    q.enqueue(big, "small")

def handler(event, context):
    out = {}
    for size in (0, 1, 4):
        q = create_queue(size)
        consumers = [spawn(consumer, (q, 6)) for _ in range(3)]
        producers = [spawn(producer, (q, p, 6)) for p in range(3)]
        lists = wait(consumers)
        wait(producers)
        # Every item once; each consumer sees each producer's items in order.
        once = sorted(sum(lists, [])) == [(p, i) for p in range(3) for i in range(6)]
        in_order = all([i for (p2, i) in got if p2 == p] == sorted(i for (p2, i) in got if p2 == p)
                       for got in lists for p in range(3))
        out[size] = [once, in_order]
    q, = create_queues(1, 1)
    big = bytes(range(256)) * 1024                   # 256 KiB: travels by key
    spawn(late_producer, (q, big))
    out["parked"] = [q.dequeue() == big, q.dequeue()]
    return out
"""


def test_fifo_per_producer_rendezvous_parking_and_large_items(tmp_path):
    r = run_program(MANY, {}, "--data-dir", str(tmp_path / "data"), tmp_path=tmp_path)
    assert r.result == {"0": [True, True], "1": [True, True], "4": [True, True], "parked": [True, "small"]}
    # The big item went through the store under the producer's value key.
    store = tmp_path / "data" / "store"
    items = [os.path.join(d, f) for d, _, fs in os.walk(store) for f in fs if f.endswith("-item0.val")]
    assert len(items) == 1 and os.path.getsize(items[0]) > 256 * 1024, items


BAD = """
from kappa import create_queue, current_task, Queue, Future, RequestError, UnpicklableValue
import threading

def handler(event, context):
    q = create_queue(3)
    errors = []
    try:
        q.enqueue(1, threading.Lock())
    except UnpicklableValue as e:
        errors.append(str(e))
    try:
        Future(4242, 2).wait()
    except RequestError as e:
        errors.append(str(e))
    try:
        Queue(4242, 1).enqueue("x")
    except RequestError as e:
        errors.append(str(e))
    if event.get("missing"):
        Queue(current_task().job, 99).dequeue()
    return errors
"""


def test_bad_input_is_refused_clearly(tmp_path):
    r = run_program(BAD, {}, tmp_path=tmp_path)
    assert r.result == [
        "Queue(j1/q1).enqueue: item 1 of type _thread.lock can't be pickled (TypeError: cannot pickle "
        "'_thread.lock' object)",
        "wait: Future(j4242/t2) belongs to job j4242; a task can only wait for futures of its own job (j1)",
        "enqueue: Queue(j4242/q1) belongs to job j4242; a task can only use queues of its own job (j1)",
    ]
    r = run_program(BAD, {"missing": True}, tmp_path=tmp_path)
    assert r.code == 1
    assert "dequeue refused by the coordinator (NOT_FOUND)" in r.stderr
    assert "queue q99 does not exist in job j1" in r.stderr
