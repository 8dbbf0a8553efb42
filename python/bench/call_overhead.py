"""Overhead of compiled code on the normal path (no pause taken).

    cd python && python -m bench.call_overhead

Prints plain vs compiled times for a call-heavy and a loop-heavy function.
A sanity check, not a test: numbers depend on the machine.
"""

import time

from kappa.compiler import compile_source
from kappa.runtime import Call, load_program, run

PROGRAM = '''
def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)

def add(a, b):
    return a + b

def loop(n):
    total = 0
    for i in range(n):
        total = add(total, i % 7)
    return total
'''

CASES = [("fib", (22,)), ("loop", (300_000,))]


def _best(fn, args, repeat=7):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - start)
    return best


def main():
    plain = {}
    exec(compile(PROGRAM, "bench.py", "exec"), plain)
    module = load_program(compile_source(PROGRAM, "bench.py"), module_name="kappa_bench")
    for name, args in CASES:
        base = _best(plain[name], args)
        fn = getattr(module, name)
        compiled = _best(lambda *a, fn=fn: run(Call(fn, a)), args)
        print(f"{name}{args}: plain {base * 1000:.1f} ms, compiled {compiled * 1000:.1f} ms, "
              f"overhead {100 * (compiled / base - 1):+.0f}%")


if __name__ == "__main__":
    main()
