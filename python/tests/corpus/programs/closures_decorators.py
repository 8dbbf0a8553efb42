"""Closures and decorators: counter factories with nonlocal, a memoizing
decorator whose cache is a captured dict, a tracing decorator, function
composition with lambdas, closures over loop variables (late binding),
and pauses inside all of them."""

import kappa


def make_counter(start):
    count = start

    def bump(by=1):
        nonlocal count
        kappa.checkpoint()
        count += by
        return count

    def peek():
        return count

    return bump, peek


def memoize(fn):
    cache = {}

    def wrapper(*args):
        if args not in cache:
            cache[args] = fn(*args)
        return cache[args]

    wrapper.cache = cache
    return wrapper


def traced(label):
    def decorate(fn):
        calls = []

        def wrapper(*args, **kwargs):
            kappa.checkpoint()
            calls.append(args)
            result = fn(*args, **kwargs)
            return result

        wrapper.calls = calls
        wrapper.__name__ = f"{label}:{fn.__name__}"
        return wrapper
    return decorate


@memoize
def paths(rows, cols):
    kappa.checkpoint()
    if rows == 0 or cols == 0:
        return 1
    return paths(rows - 1, cols) + paths(rows, cols - 1)


@traced("math")
def scaled(x, factor=2):
    return x * factor


def compose(*fns):
    def composed(x):
        for fn in reversed(fns):
            x = fn(x)
        return x
    return composed


def main():
    bump, peek = make_counter(10)
    for i in range(5):
        bump(i)
    print("counter:", peek(), bump())
    print("lattice paths:", paths(6, 6), "cache size:", len(paths.cache))
    results = []
    for v in range(6):
        results.append(scaled(v, factor=v % 3 + 1))
    print("scaled:", results, scaled.__name__, len(scaled.calls))
    pipeline = compose(lambda x: x + 1, scaled, lambda x: bump(x) - x)
    print("composed:", [pipeline(v) for v in range(4)])
    adders = []
    for n in range(3):
        adders.append(lambda x, n=n: x + n)
    late = []
    for n in range(3):
        late.append(lambda x: x + n)
    print("adders:", [f(10) for f in adders], "late binding:", [f(10) for f in late])
    return peek()
