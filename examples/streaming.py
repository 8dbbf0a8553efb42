"""Streaming: producer → mappers → aggregator, connected by bounded queues.

The producer emits lines of text into one queue; each mapper counts the
words of the lines it takes and sends a partial count every few lines to
the aggregator's queue; the aggregator merges partial counts until every
mapper has said it is done. Bounded queues give back-pressure: a fast
producer waits for the mappers instead of piling up data.

    bin/kappa run examples/streaming.py --event '{"lines": 400, "mappers": 4}'
"""

import random

from kappa import create_queue, spawn, wait

WORDS = ["kappa", "lambda", "queue", "task", "raft", "leader", "checkpoint", "future", "stream", "python"]
END = None   # the sentinel: no more lines


def line(seed, i):
    rng = random.Random(seed * 7919 + i)
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))


def produce(lines, n, seed, mappers, batch):
    for start in range(0, n, batch):
        batch_lines = []
        for i in range(start, min(start + batch, n)):
            batch_lines.append(line(seed, i))
        lines.enqueue(*batch_lines)
    lines.enqueue(*[END] * mappers)
    return n


def add_words(counts, text):
    for word in text.split():
        counts[word] = counts.get(word, 0) + 1


def map_lines(lines, partials, window):
    counts, seen, total = {}, 0, 0
    while True:
        text = lines.dequeue()
        if text is END:
            partials.enqueue(("counts", counts), ("done", total))
            return total
        add_words(counts, text)
        seen += 1
        total += 1
        if seen == window:
            partials.enqueue(("counts", counts))
            counts, seen = {}, 0


def aggregate(partials, mappers):
    totals, done, lines = {}, 0, 0
    while done < mappers:
        kind, value = partials.dequeue()
        if kind == "done":
            done += 1
            lines += value
        else:
            for word, n in value.items():
                totals[word] = totals.get(word, 0) + n
    return {"lines": lines, "words": sum(totals.values()), "counts": totals}


def handler(event, context):
    n = event.get("lines", 400)
    mappers = event.get("mappers", 4)
    seed = event.get("seed", 7)
    lines = create_queue(event.get("capacity", 20))
    partials = create_queue(event.get("capacity", 20))
    aggregator = spawn(aggregate, (partials, mappers))
    workers = []
    for _ in range(mappers):
        workers.append(spawn(map_lines, (lines, partials, event.get("window", 10))))
    producer = spawn(produce, (lines, n, seed, mappers, event.get("batch", 10)))
    result = aggregator.wait()
    result["produced"] = producer.wait()
    result["per_mapper"] = wait(workers)
    return result
