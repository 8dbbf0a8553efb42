"""Grep over chunks: count a word in a text split into chunks, in parallel.

Each worker counts the occurrences inside its run of chunks and those that
straddle two of its chunks. An occurrence straddling two workers' chunks is
found by passing the boundary: each worker sends the first len(word)-1
characters of its first chunk to the previous worker through a queue, and
that worker checks its last chunk's tail joined to them.

Chunks are generated here (deterministic pseudo-random words) and read with
reconstructor(), so a checkpoint stores "generate chunk i again", never the
text itself.

    bin/kappa run examples/grep.py --event '{"word": "abab", "chunks": 16, "workers": 4}'
"""

import random

from kappa import create_queues, reconstructor, spawn, wait

SYLLABLES = ["ab", "ba", "abab", "b", "a", "ca", "bab", " "]


def chunk_text(seed, index, size):
    """Chunk `index` of the input (stands for reading it from storage)."""
    rng = random.Random(seed * 1_000_003 + index)
    parts = []
    length = 0
    while length < size:
        part = rng.choice(SYLLABLES)
        parts.append(part)
        length += len(part)
    return "".join(parts)[:size]


def count(text, word):
    """Occurrences of word in text, overlapping ones included."""
    n = 0
    at = text.find(word)
    while at != -1:
        n += 1
        at = text.find(word, at + 1)
    return n


def grep_worker(first, last, word, seed, size, to_prev, from_next):
    k = len(word) - 1          # a straddling occurrence has at most k characters on each side
    found = 0
    tail = ""
    for index in range(first, last):
        text = reconstructor(chunk_text, seed, index, size)
        if index == first and to_prev is not None:
            to_prev.enqueue(text[:k])
        found += count(text, word)
        if k:
            found += count(tail + text[:k], word)
            tail = text[-k:]
    if from_next is not None:
        head = from_next.dequeue()
        if k:
            found += count(tail + head, word)
    return found


def handler(event, context):
    word = event.get("word", "abab")
    chunks = event.get("chunks", 16)
    workers = event.get("workers", 4)
    size = event.get("chunk_size", 10_000)
    seed = event.get("seed", 1)
    if not word or chunks % workers or size < len(word):
        raise ValueError("need a word, chunks divisible by workers, and chunks at least as long as the word")
    per = chunks // workers
    heads = create_queues(1, workers - 1)      # heads[w]: from worker w+1 to worker w
    futures = []
    for w in range(workers):
        to_prev = heads[w - 1] if w > 0 else None
        from_next = heads[w] if w < workers - 1 else None
        futures.append(spawn(grep_worker, (w * per, (w + 1) * per, word, seed, size, to_prev, from_next)))
    counts = wait(futures)
    return {"word": word, "count": sum(counts), "per_worker": counts}
