"""Expressions around pausing calls, in the subset the compiler supported
first: evaluation order of arguments and operands, chained comparisons,
short-circuit and/or, conditional expressions, star-args and **kwargs,
keyword-only parameters, subscripts, slices and augmented assignment to
them, f-strings, assert, del, and while/for with else."""

import kappa

ORDER = []


def g(tag, value):
    kappa.checkpoint()
    ORDER.append(tag)
    return value


def combine(first, *rest, scale=1, **named):
    kappa.checkpoint()
    return (first + sum(rest)) * scale + sum(named.values())


def pick(*, key, default=None):
    return g("pick", key if key is not None else default)


def main():
    xs = list(range(10))
    total = g("a", 1) + g("b", 2) * g("c", 3) - g("d", 4)
    print("arith", total)
    print("chain", 0 < g("lo", 1) <= g("mid", 1) < g("hi", 5), 3 < g("x", 1) < g("never", 9))
    print("bool", g("or1", 0) or g("or2", "") or g("or3", "z"), g("and1", 1) and g("and2", 0) and g("no", 1))
    print("ifexp", g("t", "yes") if g("cond", True) else g("f", "no"))
    print("call", combine(g("p1", 1), *[g("s1", 2), g("s2", 3)], scale=g("k", 2), **{"extra": g("e", 5)}))
    print("kwonly", pick(key=g("key", None), default=g("dflt", 7)))
    print("slice", xs[g("start", 2):g("stop", 8):g("step", 2)], xs[g("idx", -1)])
    counts = {"a": 1, "b": 2}
    counts[g("which", "a")] += g("inc", 10)
    xs[g("pos", 3)] *= g("mul", 7)
    print("aug", counts, xs[3])
    print(f"fstring {g('f1', 3)} and {g('f2', 'x')!r} and {g('f3', [1, 2])}")
    assert g("assert", True), g("msg", "never evaluated")
    scratch = g("scratch", [1, 2, 3])
    del scratch[g("del", 0)]
    print("del", scratch)
    n = 0
    while g("w", n) < 3:
        n += 1
    else:
        print("while-else ran", n)
    for i in range(5):
        if g("brk", i) == 2:
            break
    else:
        print("not printed")
    print("for stopped at", i)
    nested = combine(combine(g("n1", 1), g("n2", 2)), combine(g("n3", 3), scale=g("n4", 2)))
    print("nested", nested)
    print("order", ORDER)
    return len(ORDER)
