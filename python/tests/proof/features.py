"""The constructs the generated programs use beyond the basics, and the
compiler's answer to each.

FEATURES are the constructs the grammar (grammar.py) draws, each checked
by a probe that puts a pausing call inside it: the compiler must accept
every one. A construct it starts rejecting is a failure of the proof, not
a smaller grammar. REJECTED are the constructs it refuses on purpose
(check.py); their probes must keep failing, and the day one compiles it
moves to FEATURES.

`construct_spans(source)` finds, from the AST, where each construct
occurs in a generated program; `PausesInside` counts the pause points a
run executes while the program's stack is inside each of them.
"""

import ast
import sys
from collections import Counter

from corpus.harness import CountPauses

from kappa.compiler import CompileError, compile_source

FEATURES = ("try", "with", "closure", "lambda", "comprehension", "genexp-builtin", "global", "walrus", "match",
            "generator")
REJECTED = ("generator-pause",)   # a pause inside a generator body, reached through a call

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


def rejected_probes(constructs=FEATURES, compile=compile_source):
    """{construct: the compiler's error} for each of `constructs` whose probe does not compile."""
    out = {}
    for name in constructs:
        try:
            compile(_HEAD + PROBES[name].lstrip("\n"), f"probe_{name}.py")
        except CompileError as error:
            out[name] = str(error)
    return out


def assert_compiler_accepts_every_feature():
    rejected = rejected_probes()
    assert not rejected, "the compiler rejects constructs the generated programs use:\n" + "\n".join(
        f"  {name}: {error}" for name, error in sorted(rejected.items()))


# -- where each construct is in a generated program -------------------------------------

_GENERATORS = {"gen": "generator", "gen_pausing": "generator-pause"}

KINDS = {
    "try": lambda n: isinstance(n, ast.Try),
    "with": lambda n: isinstance(n, ast.With),
    "closure": lambda n: isinstance(n, ast.FunctionDef),   # a def inside a generated function
    "lambda": lambda n: isinstance(n, ast.Lambda),
    "comprehension": lambda n: isinstance(n, ast.ListComp),
    "genexp-builtin": lambda n: isinstance(n, ast.GeneratorExp),
    "global": lambda n: isinstance(n, ast.Name) and n.id == "G",
    "walrus": lambda n: isinstance(n, ast.NamedExpr),
    "match": lambda n: isinstance(n, ast.Match),
    "generator": lambda n: _loop_over(n) == "generator",
    "generator-pause": lambda n: _loop_over(n) == "generator-pause",
}


def _loop_over(node):
    if isinstance(node, ast.For) and isinstance(node.iter, ast.Call) and isinstance(node.iter.func, ast.Name):
        return _GENERATORS.get(node.iter.func.id)
    return None


def construct_spans(source):
    """{construct: [(first line, last line), ...]} in the generated functions
    f0, f1, ... of `source` (not in the prelude)."""
    spans = {}
    for fn in ast.parse(source).body:
        if isinstance(fn, ast.FunctionDef) and fn.name[:1] == "f" and fn.name[1:].isdigit():
            for node in (n for stmt in fn.body for n in ast.walk(stmt)):
                for name, is_kind in KINDS.items():
                    if is_kind(node):
                        spans.setdefault(name, []).append((node.lineno, node.end_lineno))
    return spans


class PausesInside(CountPauses):
    """Counts pause points like CountPauses (taking none), and for each
    construct those executed while a frame of the program is on one of the
    construct's lines: the construct is on the stack a checkpoint saves."""

    def __init__(self, filename, spans):
        super().__init__()
        self.filename = filename
        self.spans = spans
        self.inside = Counter()

    def take(self, request):
        lines = set()
        frame = sys._getframe(1)
        while frame is not None:
            if frame.f_code.co_filename == self.filename:
                lines.add(frame.f_lineno)
            frame = frame.f_back
        for name, spans in self.spans.items():
            if any(first <= line <= last for line in lines for first, last in spans):
                self.inside[name] += 1
        return super().take(request)
