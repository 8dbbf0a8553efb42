"""global statements and module-level mutable state (a dict, a list, a
rebound counter, class-level attributes) survive checkpoints."""
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


def main():
    for _ in range(3):
        bump()
    print(COUNTER, HISTORY, memo(3), memo(3), sorted(CACHE.items()))
    for name in ("a", "b"):
        Registry(name)
    print(Registry.created, Registry.names)
    return COUNTER
