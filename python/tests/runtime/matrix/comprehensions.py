"""List, set and dict comprehensions whose elements and conditions pause,
with nested loops; the comprehension variable does not leak."""
from kappa.runtime import checkpoint


def slow(x):
    checkpoint()
    return x


def main():
    x = "outer x"
    squares = [slow(x) * x for x in range(5) if slow(x) % 2 == 0]
    pairs = [(a, slow(b)) for a in range(3) for b in range(a) if a != b]
    evens = {slow(v) % 3 for v in range(7)}
    table = {slow(k): [slow(k * i) for i in range(k)] for k in range(4)}
    print(squares, pairs, sorted(evens), table)
    print("x is still", x)
    return len(squares) + len(pairs)
