"""Infinite generators driven by next() with checkpoints between items:
primes by an incremental sieve, Fibonacci, Collatz sequences, and a
generator that receives values with send()."""

import kappa


def primes():
    composites = {}
    n = 2
    while True:
        if n not in composites:
            yield n
            composites[n * n] = [n]
        else:
            for p in composites.pop(n):
                composites.setdefault(n + p, []).append(p)
        n += 1


def fibonacci():
    a, b = 0, 1
    while True:
        yield a
        a, b = b, a + b


def collatz(n):
    while n != 1:
        yield n
        n = 3 * n + 1 if n % 2 else n // 2
    yield 1


def averager():
    total, count, average = 0.0, 0, None
    while True:
        value = yield average
        total += value
        count += 1
        average = total / count


def take(gen, n):
    out = []
    for _ in range(n):
        kappa.checkpoint()
        out.append(next(gen))
    return out


def main():
    p = primes()
    print("primes:", take(p, 15))
    print("more primes:", take(p, 5))
    f = fibonacci()
    print("fib:", take(f, 12))
    longest = (0, 0)
    for start in range(1, 12):
        steps = 0
        for _ in collatz(start):
            steps += 1
        kappa.checkpoint()
        longest = max(longest, (steps, start))
    print("longest collatz below 12:", longest)
    avg = averager()
    next(avg)
    for value in (10, 20, 60, 30):
        kappa.checkpoint()
        print("average:", avg.send(value))
    return next(p)
