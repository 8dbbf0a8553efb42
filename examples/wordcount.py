"""Map/reduce word count over text the program generates.

The handler spawns one mapper task per chunk; each mapper generates its
chunk of text (deterministically, from the chunk's number) and counts its
words; a reducer task merges the counts, and the handler reports the total
and the most frequent words.

    kappa run examples/wordcount.py --event '{"chunks": 8, "words": 20000}'
"""

import random

from kappa import spawn, wait

VOCABULARY = (
    "the a of lambda task future queue checkpoint raft leader follower epoch "
    "claim seq log snapshot term vote commit apply state machine worker"
).split()


def make_chunk(chunk, words):
    rng = random.Random(chunk)
    return " ".join(rng.choice(VOCABULARY) for _ in range(words))


def count_words(chunk, words):
    counts = {}
    for word in make_chunk(chunk, words).split():
        counts[word] = counts.get(word, 0) + 1
    return counts


def merge(*partials):
    total = {}
    for counts in partials:
        for word, n in counts.items():
            total[word] = total.get(word, 0) + n
    return total


def handler(event, context):
    chunks = event.get("chunks", 8)
    words = event.get("words", 20000)
    mappers = []
    for chunk in range(chunks):
        mappers.append(spawn(count_words, (chunk, words)))
    # Futures passed as arguments are resolved before the reducer starts.
    reducer = spawn(merge, tuple(mappers))
    total = reducer.wait()
    top = sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    return {"words": sum(total.values()), "distinct": len(total), "top": top, "chunks_done": len(wait(*mappers))}
