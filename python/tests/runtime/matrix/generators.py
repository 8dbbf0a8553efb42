"""Generators checkpointed between items: a generator function consumed by
a loop, a generator expression, yield from, send(), a generator with
try/finally and a with block, a generator closing over a variable, and a
generator that is created but not started when the checkpoint is taken."""
from kappa.runtime import checkpoint


def countdown(n):
    while n > 0:
        yield n
        n -= 1
    return "liftoff"


def chain(*parts):
    total = 0
    for part in parts:
        result = yield from part
        total += 1 if result else 0
    return total


def accumulator():
    total = 0
    while True:
        value = yield total
        if value is None:
            break
        total += value
    return total


def guarded(items):
    try:
        for item in items:
            yield item
    finally:
        print("guarded finished")


def scaled(items, factor):
    def scale(v):
        return v * factor
    for item in items:
        yield scale(item)
        factor += 1


def main():
    out = []
    for n in countdown(3):
        checkpoint()
        out.append(n)
    squares = (x * x for x in range(4))
    for s in squares:
        checkpoint()
        out.append(s)
    for v in chain(countdown(2), iter("ab")):
        checkpoint()
        out.append(v)
    acc = accumulator()
    next(acc)
    for v in (5, 6):
        checkpoint()
        out.append(acc.send(v))
    for v in guarded([7, 8]):
        checkpoint()
        out.append(v)
    lazy = countdown(2)
    checkpoint()
    out.append(list(lazy))
    for v in scaled([1, 1, 1], 10):
        checkpoint()
        out.append(v)
    print(out)
    return out
