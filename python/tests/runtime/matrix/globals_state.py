"""global statements and module-level mutable state (a dict, a list, a
rebound counter, class-level attributes, mutable default arguments of
functions and methods, function attributes) survive checkpoints."""
from kappa.runtime import checkpoint

COUNTER = 0
CACHE = {}
HISTORY = []


class Registry:
    created = 0
    names = []

    def __init__(self, name):
        Registry.created += 1
        Registry.names.append(name)
        checkpoint()


def bump():
    global COUNTER
    checkpoint()
    COUNTER += 1
    HISTORY.append(COUNTER)
    return COUNTER


def memo(n):
    if n in CACHE:
        return CACHE[n]
    checkpoint()
    CACHE[n] = value = n * n
    return value


def seen_before(x, seen=[], *, counts={}):
    checkpoint()
    counts[x] = counts.get(x, 0) + 1
    if x in seen:
        return True
    seen.append(x)
    return False


def calls():
    calls.n = getattr(calls, "n", 0) + 1
    checkpoint()
    return calls.n


def main():
    for _ in range(3):
        bump()
    print([seen_before(x) for x in "abab"], seen_before.__kwdefaults__, [calls() for _ in range(3)])
    print(COUNTER, HISTORY, memo(3), memo(3), sorted(CACHE.items()))
    for name in ("a", "b"):
        Registry(name)
    print(Registry.created, Registry.names)
    return COUNTER
