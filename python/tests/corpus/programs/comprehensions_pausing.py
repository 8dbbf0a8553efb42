"""Comprehensions and generator expressions whose elements make pausing
calls: list/set/dict comprehensions, nested and filtered ones, and
generator expressions handed to sum/min/max/any/all/sorted/list/dict,
where short-circuiting must stay as in Python."""

import kappa

CALLS = []


def score(word):
    kappa.checkpoint()
    CALLS.append(word)
    return sum(ord(c) - 96 for c in word)


def is_long(word):
    kappa.checkpoint()
    CALLS.append("?" + word)
    return len(word) > 5


def main():
    words = ["apple", "banana", "cherry", "date", "elderberry", "fig", "grape"]
    scores = [score(w) for w in words]
    print("scores:", scores)
    long_scores = {w: score(w) for w in words if is_long(w)}
    print("long:", long_scores)
    initials = {score(w[0]) for w in words}
    print("initials:", sorted(initials))
    grid = [[score(a) * score(b) for b in ("ab", "c")] for a in ("x", "yz")]
    print("grid:", grid)
    print("sum:", sum(score(w) for w in words[:3]))
    print("max:", max(score(w) for w in words), "min:", min((score(w), w) for w in words))
    CALLS.clear()
    print("any long:", any(is_long(w) for w in words), CALLS)
    CALLS.clear()
    print("all long:", all(is_long(w) for w in words), CALLS)
    print("sorted:", sorted(score(w) % 7 for w in words))
    print("list:", list(score(w) for w in words if len(w) == 4))
    print("dict:", dict((w, score(w)) for w in words[:2]))
    first = next((w for w in words if is_long(w)), None)
    print("first long:", first)
    return len(CALLS)
