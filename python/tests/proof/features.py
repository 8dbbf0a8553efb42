"""Which constructs the compiler supports today, found by compiling a probe.

Each probe puts a pausing call *inside* the construct. A probe that the
compiler rejects with CompileError switches the construct off in the
program grammar (grammar.py); the day the compiler accepts it, the
generated programs start using it with no change here.
"""

import functools

from kappa.compiler import CompileError, compile_source

_HEAD = "import kappa\n\n\ndef ident(v):\n    kappa.checkpoint()\n    return v\n\n\n"

PROBES = {
    "try": """
def f(a):
    try:
        a = ident(a)
    except ValueError as e:
        a = ident(1)
    else:
        a = ident(2)
    finally:
        a = ident(3)
    return a
""",
    "with": """
class M:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def f(a):
    with M() as m, M():
        a = ident(a)
    return a
""",
    "closure": """
def f(a):
    x = 1

    def inner(v):
        nonlocal x
        x = x + ident(v)
        return x
    return inner(a)
""",
    "lambda": """
def f(a):
    x = 1
    h = lambda v: ident(v) + x
    return h(a)
""",
    "comprehension": """
def f(a):
    return [ident(v) for v in range(a) if ident(v) % 2] + sorted({ident(v) for v in [a]})
""",
    "genexp-builtin": """
def f(a):
    return sum(ident(v) for v in range(a)) + any(ident(v) > 1 for v in range(a))
""",
    "global": """
G = 0


def f(a):
    global G
    G = G + ident(a)
    return G
""",
    "walrus": """
def f(a):
    if (y := ident(a)) > 1:
        return y
    return 0
""",
    "match": """
def f(a):
    match a % 3:
        case 0:
            return ident(a)
        case 1 | 2 if ident(a) > 2:
            return 1
        case _:
            return ident(2)
""",
    "generator": """
def gen(n):
    for v in range(n):
        yield v


def f(a):
    total = 0
    for v in gen(a):
        total += ident(v)
    return total
""",
    "generator-pause": """
def gen(n):
    for v in range(n):
        yield ident(v)


def f(a):
    total = 0
    for v in gen(a):
        total += v
    return total
""",
}


@functools.lru_cache(maxsize=None)
def supported():
    """The set of constructs whose probe compiles."""
    out = set()
    for name, body in PROBES.items():
        try:
            compile_source(_HEAD + body.lstrip("\n"), f"probe_{name}.py")
        except CompileError:
            continue
        out.add(name)
    return frozenset(out)
