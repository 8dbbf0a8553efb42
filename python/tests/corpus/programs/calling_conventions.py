"""Calling conventions and small syntax: defaults, *args, **kwargs,
keyword-only and positional-only parameters, star-unpacking in calls,
walrus operators around pausing calls, f-strings with pausing calls and
format specs, for/while with else, chained comparisons, conditional
expressions and augmented assignment to subscripts."""

import kappa


def measure(value):
    kappa.checkpoint()
    return value


def describe(name, /, *values, sep=", ", upper=False, **extra):
    kappa.checkpoint()
    text = sep.join(str(v) for v in values)
    if upper:
        text = text.upper()
    tags = "".join(f" {k}={extra[k]}" for k in sorted(extra))
    return f"{name}({text}){tags}"


def stats(*numbers, scale=1):
    total = measure(sum(numbers)) * scale
    return {"n": len(numbers), "total": total, "mean": total / max(len(numbers), 1)}


def find_first(items, predicate):
    for i, item in enumerate(items):
        if predicate(item):
            found = i
            break
    else:
        found = -1
    return found


def countdown(n):
    steps = []
    while (n := measure(n) - 1) > 0:
        steps.append(n)
        if n == 100:
            break
    else:
        steps.append("liftoff")
    return steps


def main():
    args = [1, 2, 3]
    options = {"sep": "-", "color": "red"}
    print(describe("plain", 1, 2))
    print(describe("star", *args, upper=True))
    print(describe("both", *args, *"ab", **options, size=measure(3)))
    print(stats(*range(5), scale=measure(2)))
    print(stats())
    print(f"measured {measure(3.14159):.2f} and {measure('x')!r} and {measure(7):>4}|")
    print(f"{describe('nested', *[measure(i) for i in range(3)])}")
    if (total := measure(sum(args))) > 5:
        print("total is big:", total)
    data = [5, measure(8), 13]
    if (n := len(data)) and 0 < measure(n) <= 3:
        print("chained ok", n)
    print("first > 6:", find_first(data, lambda x: x > 6), "first > 99:", find_first(data, lambda x: x > 99))
    print("countdown:", countdown(5))
    counts = {"a": 1}
    counts["a"] += measure(4)
    counts[measure("b")] = counts.get("b", 0) + 1
    label = "many" if measure(len(counts)) > 1 else "one"
    print(counts, label)
    return total
