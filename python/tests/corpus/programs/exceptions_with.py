"""with blocks: class-based context managers as live state, several
managers in one statement, __exit__ suppressing an exception, nested
transactions rolled back on error, pauses inside every block."""

import kappa

TRACE = []


class Transaction:
    def __init__(self, store, name):
        self.store = store
        self.name = name
        self.snapshot = None

    def __enter__(self):
        self.snapshot = dict(self.store)
        TRACE.append(f"begin {self.name}")
        return self

    def __exit__(self, kind, value, tb):
        if kind is None:
            TRACE.append(f"commit {self.name}")
        else:
            self.store.clear()
            self.store.update(self.snapshot)
            TRACE.append(f"rollback {self.name}: {value}")
        return False


class Suppress:
    def __init__(self, *kinds):
        self.kinds = kinds
        self.caught = []

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        if kind is not None and issubclass(kind, self.kinds):
            self.caught.append(str(value))
            return True
        return False


class Timer:
    def __init__(self, label):
        self.label = label
        self.ticks = 0

    def __enter__(self):
        TRACE.append(f"start {self.label}")
        return self

    def __exit__(self, *exc):
        TRACE.append(f"stop {self.label} after {self.ticks} ticks")


def transfer(store, src, dst, amount):
    kappa.checkpoint()
    if store[src] < amount:
        raise ValueError(f"{src} cannot pay {amount}")
    store[src] -= amount
    kappa.checkpoint()
    store[dst] += amount


def batch(store, moves, timer):
    with Transaction(store, "batch") as tx:
        for src, dst, amount in moves:
            timer.ticks += 1
            transfer(tx.store, src, dst, amount)


def main():
    accounts = {"a": 100, "b": 50, "c": 0}
    guard = Suppress(ValueError, KeyError)
    with Timer("all") as timer, guard:
        batch(accounts, [("a", "b", 30), ("b", "c", 60)], timer)
        batch(accounts, [("a", "c", 10), ("c", "a", 500)], timer)
        print("not reached")
    print("after first:", accounts, guard.caught)
    with Timer("second") as timer:
        for i in range(6):
            with Suppress(KeyError) as inner:
                batch(accounts, [("a", "b", i), ("b", "zz" if i == 4 else "c", 1)], timer)
            if inner.caught:
                print("suppressed", inner.caught)
    print("final:", accounts)
    for line in TRACE:
        print(line)
    return sum(accounts.values())
