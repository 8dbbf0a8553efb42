"""Recursive Fibonacci where every call is a task of its own.

fib(n) spawns fib(n-1) and fib(n-2) and waits for both: fib(12) runs 465
tasks in parallel lambdas and returns 144.

    kappa run examples/fib.py --event '{"n": 12}'
"""

from kappa import spawn


def fib(n):
    if n < 2:
        return n
    a = spawn(fib, (n - 1,))
    b = spawn(fib, (n - 2,))
    return a.wait() + b.wait()


def handler(event, context):
    return fib(event.get("n", 12))
