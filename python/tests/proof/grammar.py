"""A hypothesis strategy for random programs over the constructs of
features.py.

A program is a prelude (the pausing helper `ident`, a context manager, a
module-level generator, module-level state) and functions f0..f{n-1}; f{i}
may call f{j} only for j > i, loops are bounded, so every program
terminates. Values are ints (no division, no indexing), so the only
exceptions are the ValueErrors the program raises itself: generated
programs are deterministic. Only the constructs asked for are drawn; a
`required` one is the first statement of f0 (which main calls), in a form
that pauses inside it whenever it runs.
"""

from hypothesis import strategies as st
from runtime.test_hypothesis import VARS
from runtime.test_hypothesis import Gen as BasicGen

ASSIGNABLE = ("x", "y", "z")
# (kind, the feature it needs): expressions e_<kind>, statements s_<kind>
EXPRESSIONS = [("listcomp", "comprehension"), ("genexp", "genexp-builtin"), ("walrus", "walrus"),
               ("global", "global")]
STATEMENTS = [("try", "try"), ("with", "with"), ("closure", "closure"), ("lambda", "lambda"),
              ("match", "match"), ("generator", "generator"), ("generator_pausing", "generator-pause"),
              ("global", "global")]


def grammar_constructs():
    """Every construct the grammar can draw."""
    return {feature for _, feature in EXPRESSIONS + STATEMENTS}

PRELUDE = '''import kappa
from kappa.runtime import checkpoint

G = 0
TRACE = []


def ident(v):
    kappa.checkpoint()
    return v


class Manager:
    def __init__(self, tag, suppress):
        self.tag = tag
        self.suppress = suppress

    def __enter__(self):
        TRACE.append(("enter", self.tag))
        return self

    def __exit__(self, kind, value, tb):
        TRACE.append(("exit", self.tag, None if kind is None else str(value)))
        return self.suppress
'''

GENERATOR = '''

def gen(n, k):
    for v in range(n):
        yield v * k + 1
'''

PAUSING_GENERATOR = '''

def gen_pausing(n):
    for v in range(n):
        yield ident(v) + 1
'''

MAIN = '''

def main():
    out = []
    for i in range(2):
        out.append(f0(i, 3))
    print("trace", TRACE, "G", G)
    return out
'''


class Gen(BasicGen):
    """Draws the source of one function f{index}(a, b).

    The basic grammar (assignments, if, for/while with break/continue/else,
    calls, checkpoints, and/or, conditional expressions) is the runtime
    suite's; this adds raise/return and the constructs of `features`."""

    def __init__(self, draw, index, count, features, required=None):
        super().__init__(draw, index, count)
        self.features = features
        self.required = required
        self.names = 0          # for unique loop counters, inner functions, tags
        self.uses_global = False

    def small(self, hi=3):
        return self.draw(st.integers(0, hi))

    def iterations(self, force):
        """How many times a loop of a construct runs: at least once if forced."""
        return self.draw(st.integers(1 if force else 0, 3))

    def fresh(self, prefix):
        self.names += 1
        return f"{prefix}{self.index}_{self.names}"

    def gated(self, options):
        return [kind for kind, feature in options if feature in self.features]

    # -- expressions --------------------------------------------------------

    def expr(self, depth=0):
        kinds = self.gated(EXPRESSIONS) if depth < 2 else []
        if not kinds or self.draw(st.integers(0, 3)):
            return super().expr(depth)
        return getattr(self, "e_" + self.pick(kinds))(depth)

    # `force`: the construct pauses inside whenever it runs (see forced).

    def e_listcomp(self, depth, force=False):
        return f"len([ident(v) for v in range({self.iterations(force)}) if ident(v) % 2 == {self.small(1)}])"

    def e_genexp(self, depth, force=False):
        fn = self.pick(["sum", "max", "min", "any", "all"])
        default = ", default=0" if fn in ("max", "min") else ""
        return f"{fn}((ident(v) + {self.pick(VARS)} for v in range({self.iterations(force)})){default})"

    def e_walrus(self, depth, force=False):
        return f"(y := ident({self.expr(depth + 1)}))"

    def e_global(self, depth, force=False):   # forced as a statement (s_global)
        self.uses_global = True
        return "G"

    # -- statements ---------------------------------------------------------

    def stmt(self, indent, depth, in_loop):
        kinds = ["raise", "return"] + (self.gated(STATEMENTS) if depth < 2 else [])
        if self.draw(st.integers(0, 4)):
            return super().stmt(indent, depth, in_loop)
        kind = self.pick(kinds)
        return getattr(self, "s_" + kind)("    " * indent, indent, depth, in_loop)

    def s_raise(self, pad, indent, depth, in_loop):
        return [f"{pad}if {self.cond()} and {self.expr()} % 3 == 1:",
                f"{pad}    raise ValueError({self.index} * 1000 + {self.expr()})"]

    def s_return(self, pad, indent, depth, in_loop):
        return [f"{pad}if {self.cond()}:", f"{pad}    return {self.expr()}"]

    def s_try(self, pad, indent, depth, in_loop, force=False):
        lines = [f"{pad}try:"] + self.forced_first(pad, force) + self.block(indent + 1, depth + 1, in_loop)
        if self.draw(st.booleans()):
            lines += [f"{pad}except ValueError as e:", f"{pad}    print({self.index}, 'caught', e)"]
            lines += self.block(indent + 1, depth + 1, in_loop)
            if self.draw(st.booleans()):
                lines += [f"{pad}    raise"] if self.draw(st.booleans()) else []
            if self.draw(st.booleans()):
                lines += [f"{pad}else:"] + self.block(indent + 1, depth + 1, in_loop)
            if not self.draw(st.booleans()):
                return lines
        lines += [f"{pad}finally:", f"{pad}    print({self.index}, 'finally', x)"]
        return lines + self.block(indent + 1, depth + 1, in_loop)

    def s_with(self, pad, indent, depth, in_loop, force=False):
        tags = [self.fresh("m") for _ in range(self.draw(st.integers(1, 2)))]
        managers = ", ".join(f"Manager({tag!r}, {self.draw(st.booleans())})" for tag in tags)
        return ([f"{pad}with {managers} as m:"] + self.forced_first(pad, force)
                + self.block(indent + 1, depth + 1, in_loop))

    def argument(self, force):
        """An argument for a call of a construct's function: forced, one
        that cannot raise before the call."""
        return self.pick(VARS) if force else self.expr()

    def s_closure(self, pad, indent, depth, in_loop, force=False):   # its body starts with a pause
        name = self.fresh("inner")
        var = self.pick(ASSIGNABLE)
        body = self.block(indent + 1, 2, False)   # statements of the inner function: no nesting
        return ([f"{pad}def {name}(v):", f"{pad}    nonlocal x, y, z", f"{pad}    {var} = {var} + ident(v)"]
                + body + [f"{pad}    return {var} * 2 + v",
                          f"{pad}{self.pick(ASSIGNABLE)} = {name}({self.argument(force)})"])

    def s_lambda(self, pad, indent, depth, in_loop, force=False):   # its body pauses
        name = self.fresh("h")
        return [f"{pad}{name} = lambda v: ident(v) + {self.pick(VARS)}",
                f"{pad}{self.pick(ASSIGNABLE)} = {name}({self.argument(force)}) + {name}({self.small()})"]

    def s_match(self, pad, indent, depth, in_loop, force=False):
        subject = f"ident({self.expr()})" if force else self.expr()
        lines = [f"{pad}match {subject} % 3:", f"{pad}    case 0:"]
        lines += self.block(indent + 2, depth + 1, in_loop)
        lines += [f"{pad}    case 1 | 2 if {self.cond()}:"] + self.block(indent + 2, depth + 1, in_loop)
        if self.draw(st.booleans()):
            lines += [f"{pad}    case _:"] + self.block(indent + 2, depth + 1, in_loop)
        return lines

    def s_generator(self, pad, indent, depth, in_loop, force=False):
        return self._loop_over(pad, indent, depth, f"gen({self.iterations(force)}, {self.pick(VARS)})")

    def s_generator_pausing(self, pad, indent, depth, in_loop, force=False):
        return self._loop_over(pad, indent, depth, f"gen_pausing({self.iterations(force)})")

    def _loop_over(self, pad, indent, depth, generator):
        var = self.pick(ASSIGNABLE)
        return ([f"{pad}for {var} in {generator}:", f"{pad}    ident({var})"]
                + self.block(indent + 1, depth + 1, True))

    def s_global(self, pad, indent, depth, in_loop, force=False):
        self.uses_global = True
        return [f"{pad}G = G + {f'ident({self.expr()})' if force else self.expr()}"]

    def forced_first(self, pad, force):
        """A pausing first statement for the block of a forced construct."""
        return [f"{pad}    {self.pick(ASSIGNABLE)} = ident({self.pick(VARS)})"] if force else []

    def forced(self, construct):
        """The statement lines of `construct`, pausing inside it whenever they run."""
        for kind, feature in STATEMENTS:
            if feature == construct:
                return getattr(self, "s_" + kind)("    ", 1, 0, False, force=True)
        kinds = [kind for kind, feature in EXPRESSIONS if feature == construct]
        if not kinds:
            raise ValueError(f"the grammar cannot draw the construct {construct!r}")
        kind = kinds[0]
        return [f"    {self.pick(ASSIGNABLE)} = {getattr(self, 'e_' + kind)(0, force=True)}"]

    def function(self):
        first = self.forced(self.required) if self.required else []
        lines = super().function().splitlines()
        lines[4:4] = first   # after the def line and x, y, z = 0, 1, 2
        if self.uses_global:
            lines.insert(1, "    global G")
        return "\n".join(lines)


@st.composite
def programs(draw, features=frozenset(), required=None):
    """The source of one program using only `features` beyond the basics;
    with `required` (one of them), f0 starts with that construct."""
    if required is not None and required not in features:
        raise ValueError(f"required construct {required!r} is not among the features {sorted(features)}")
    count = draw(st.integers(1, 3))
    functions = [Gen(draw, i, count, features, required if i == 0 else None).function() for i in range(count)]
    source = PRELUDE
    if "generator" in features:
        source += GENERATOR
    if any("gen_pausing(" in f for f in functions):   # the compiler rejects its definition
        source += PAUSING_GENERATOR
    return source + "\n\n" + "\n\n\n".join(functions) + "\n" + MAIN
