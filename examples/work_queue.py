"""Work queue: one producer, many workers, a bounded queue between them.

The root task starts the workers, puts the items into a queue of limited
capacity (blocking while it is full), then one sentinel per worker; each
worker takes items until it takes a sentinel, and returns what it did. Every
item is processed exactly once, whichever lambdas die on the way.

    bin/kappa run examples/work_queue.py --event '{"items": 1000, "workers": 10}'
"""

from kappa import create_queue, spawn, wait

STOP = None   # the sentinel: no more work


def work(item):
    """The work of one item (stands for something real)."""
    return item * item % 1009


def worker(tasks):
    done, total = 0, 0
    while True:
        item = tasks.dequeue()
        if item is STOP:
            return [done, total]
        total += work(item)
        done += 1


def handler(event, context):
    n = event.get("items", 1000)
    workers = event.get("workers", 10)
    batch = event.get("batch", 25)
    tasks = create_queue(event.get("capacity", 100))
    futures = []
    for _ in range(workers):
        futures.append(spawn(worker, (tasks,)))
    for start in range(0, n, batch):
        tasks.enqueue(*range(start, min(start + batch, n)))   # in order; waits while the queue is full
    tasks.enqueue(*[STOP] * workers)
    results = wait(futures)
    expected = 0
    for item in range(n):
        expected += work(item)
    return {
        "items": sum(r[0] for r in results),
        "total": sum(r[1] for r in results),
        "expected_total": expected,
        "per_worker": [r[0] for r in results],
    }
