"""Random programs (straight-line code, loops, ifs, pausing calls) behave the
same plain and compiled, checkpointed and restored at random pause points."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kappa.compiler import compile_source

from .driver import Every, RandomPauses, run_plain, run_program

VARS = ("a", "b", "x", "y", "z")

PRELUDE = '''from kappa.runtime import checkpoint


def ident(v):
    checkpoint()
    return v
'''


class Gen:
    """Draws the source of one function f{index}(a, b); it may call f{j} for
    j > index (so calls always terminate) and the pausing helper ident()."""

    def __init__(self, draw, index, count):
        self.draw, self.index, self.count = draw, index, count
        self.calls = 2          # budget of calls to other generated functions
        self.loops = 0

    def pick(self, options):
        return self.draw(st.sampled_from(options))

    def expr(self, depth=0):
        kinds = ["int", "var", "var"] if depth >= 2 else \
            ["int", "var", "add", "sub", "mul", "ident", "call", "ifexp", "min", "or"]
        kind = self.pick(kinds)
        if kind == "call" and (self.calls == 0 or self.index == self.count - 1):
            kind = "ident"
        if kind == "int":
            return str(self.draw(st.integers(0, 9)))
        if kind == "var":
            return self.pick(VARS)
        if kind in ("add", "sub"):
            return f"({self.expr(depth + 1)} {'+' if kind == 'add' else '-'} {self.expr(depth + 1)})"
        if kind == "mul":
            return f"({self.expr(depth + 1)} * {self.draw(st.integers(0, 3))})"
        if kind == "ident":
            return f"ident({self.expr(depth + 1)})"
        if kind == "call":
            self.calls -= 1
            callee = self.draw(st.integers(self.index + 1, self.count - 1))
            return f"f{callee}({self.expr(depth + 1)}, {self.expr(depth + 1)})"
        if kind == "ifexp":
            return f"({self.expr(depth + 1)} if {self.cond(depth + 1)} else {self.expr(depth + 1)})"
        if kind == "min":
            return f"min({self.expr(depth + 1)}, {self.expr(depth + 1)})"
        return f"({self.expr(depth + 1)} or {self.expr(depth + 1)})"

    def cond(self, depth=0):
        kind = self.pick(["lt", "eq", "even"] if depth >= 2 else ["lt", "eq", "even", "and", "not"])
        if kind == "lt":
            return f"{self.expr(depth + 1)} < {self.expr(depth + 1)}"
        if kind == "eq":
            return f"{self.expr(depth + 1)} == {self.expr(depth + 1)}"
        if kind == "even":
            return f"{self.expr(depth + 1)} % 2 == 0"
        if kind == "and":
            return f"({self.cond(depth + 1)} and {self.cond(depth + 1)})"
        return f"not ({self.cond(depth + 1)})"

    def block(self, indent, depth, in_loop):
        lines = []
        for _ in range(self.draw(st.integers(1, 3))):
            lines += self.stmt(indent, depth, in_loop)
        return lines

    def stmt(self, indent, depth, in_loop):
        pad = "    " * indent
        kinds = ["assign", "augassign", "print", "checkpoint", "ident"]
        if depth < 2:
            kinds += ["if", "for", "while"]
        if in_loop:
            kinds += ["break", "continue"]
        kind = self.pick(kinds)
        if kind == "assign":
            return [f"{pad}{self.pick(VARS[2:])} = {self.expr()}"]
        if kind == "augassign":
            return [f"{pad}{self.pick(VARS[2:])} += {self.expr()}"]
        if kind == "print":
            return [f"{pad}print({self.index}, {self.expr()}, {self.pick(VARS)})"]
        if kind == "checkpoint":
            return [f"{pad}checkpoint()"]
        if kind == "ident":
            return [f"{pad}ident({self.expr()})"]
        if kind in ("break", "continue"):
            return [f"{pad}if {self.cond()}:", f"{pad}    {kind}"]
        if kind == "if":
            lines = [f"{pad}if {self.cond()}:"] + self.block(indent + 1, depth + 1, in_loop)
            if self.draw(st.booleans()):
                lines += [f"{pad}else:"] + self.block(indent + 1, depth + 1, in_loop)
            return lines
        self.loops += 1
        if kind == "for":
            var = self.pick(["x", "y", "z"])
            iterable = self.pick([f"range({self.draw(st.integers(0, 3))})", "[a, b]",
                                  f"range(ident({self.draw(st.integers(0, 2))}))"])
            lines = [f"{pad}for {var} in {iterable}:"] + self.block(indent + 1, depth + 1, True)
        else:
            counter = f"w{self.loops}"
            test = self.pick([f"{counter} < {self.draw(st.integers(0, 3))}",
                              f"ident({counter}) < {self.draw(st.integers(0, 3))}"])
            lines = [f"{pad}{counter} = 0", f"{pad}while {test}:", f"{pad}    {counter} += 1"]
            lines += self.block(indent + 1, depth + 1, True)
        if self.draw(st.booleans()):
            lines += [f"{pad}else:"] + self.block(indent + 1, depth + 1, in_loop)
        return lines

    def function(self):
        body = ["    x = 0", "    y = 1", "    z = 2"] + self.block(1, 0, False)
        body.append(f"    return ({self.expr()}) % 1009")
        return "\n".join([f"def f{self.index}(a, b):"] + body)


@st.composite
def programs(draw):
    count = draw(st.integers(1, 3))
    functions = [Gen(draw, i, count).function() for i in range(count)]
    main = "def main():\n    return f0(3, 4)"
    return PRELUDE + "\n\n" + "\n\n\n".join(functions + [main]) + "\n"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=programs(), seed=st.integers(0, 2**16))
def test_random_programs_behave_the_same(source, seed):
    expected = run_plain(source, filename="gen.py").observable()
    compiled = compile_source(source, "gen.py")
    for policy in (Every(), RandomPauses(seed, p=0.4)):
        got = run_program(source, filename="gen.py", compiled=compiled, policy=policy)
        assert got.observable() == expected, f"{type(policy).__name__}\n{source}"
