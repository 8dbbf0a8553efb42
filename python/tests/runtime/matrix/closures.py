"""Nested functions and closures: captured cells survive a checkpoint and
stay shared; nonlocal; continuations of nested functions; a nested
function that is itself recursive."""
from kappa.runtime import checkpoint


def make_counter(start):
    count = start

    def bump(by=1):
        nonlocal count
        checkpoint()
        count += by
        return count

    def peek():
        return count

    return bump, peek


def accumulate(values):
    total = 0
    seen = []

    def add(v):
        nonlocal total
        checkpoint()
        seen.append(v)
        total += v

    for v in values:
        add(v)
        checkpoint()
    return total, seen


def fact_outer(n):
    def fact(k):
        checkpoint()
        return 1 if k <= 1 else k * fact(k - 1)
    return fact(n)


def main():
    bump, peek = make_counter(10)
    bump()
    bump(5)
    print("counter", peek(), bump())
    print(accumulate([1, 2, 3]))
    print(fact_outer(5))
    return peek()
