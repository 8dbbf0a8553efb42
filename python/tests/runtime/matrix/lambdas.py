"""Lambdas whose body pauses (module level, inside functions, as
arguments, with defaults) and a lambda that closes over a loop variable."""
from kappa.runtime import checkpoint


def slow_double(x):
    checkpoint()
    return 2 * x


TRIPLE = lambda x: slow_double(x) + x  # noqa: E731


def apply(f, values):
    return [f(v) for v in values]


def main():
    base = 100
    add_base = lambda x, extra=1: slow_double(x) + base + extra  # noqa: E731
    print(add_base(1), add_base(2, extra=0))
    print(apply(lambda v: slow_double(v) - 1, [1, 2, 3]))
    print(TRIPLE(5))
    makers = [lambda k=k: slow_double(k) for k in range(3)]
    print([m() for m in makers])
    return base
