"""Calling conventions: defaults, *args, **kwargs, keyword-only,
positional-only, star-unpacking in calls, walrus and f-strings with
pausing parts."""
from kappa.runtime import checkpoint


def slow(x):
    checkpoint()
    return x


def signature(a, b=2, /, c=3, *rest, d, e=5, **extra):
    checkpoint()
    return (a, b, c, rest, d, e, sorted(extra.items()))


def main():
    args = [slow(1), 2]
    opts = {"d": slow(4), "z": 26}
    print(signature(*args, slow(3), *[slow(9)], **opts))
    print(signature(slow(0), d=slow(1), e=slow(2)))
    if (n := slow(7)) > 5:
        print("walrus", n)
    total = 0
    while (chunk := slow(total)) < 3:
        total = chunk + 1
    width = slow(6)
    print(f"{slow('left'):>{width}}|{slow(3.14159):.{slow(2)}f}|{slow('x')!r}")
    return total
