"""A hypothesis strategy for random programs over the constructs of issue 3.

A program is a prelude (the pausing helper `ident`, a context manager, a
module-level generator, module-level state) and functions f0..f{n-1}; f{i}
may call f{j} only for j > i, loops are bounded, so every program
terminates. Values are ints (no division, no indexing), so the only
exceptions are the ValueErrors the program raises itself: generated
programs are deterministic. Constructs the compiler does not support yet
(features.supported()) are never drawn.
"""

from hypothesis import strategies as st

VARS = ("a", "b", "x", "y", "z")
ASSIGNABLE = ("x", "y", "z")

PRELUDE = '''import kappa

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


class Gen:
    """Draws the source of one function f{index}(a, b)."""

    def __init__(self, draw, index, count, features):
        self.draw, self.index, self.count = draw, index, count
        self.features = features
        self.calls = 2          # budget of calls to other generated functions
        self.names = 0          # for unique loop counters, inner functions, tags
        self.uses_global = False

    # -- helpers ------------------------------------------------------------

    def pick(self, options):
        return self.draw(st.sampled_from(options))

    def small(self, hi=3):
        return self.draw(st.integers(0, hi))

    def fresh(self, prefix):
        self.names += 1
        return f"{prefix}{self.index}_{self.names}"

    def has(self, feature):
        return feature in self.features

    # -- expressions --------------------------------------------------------

    def expr(self, depth=0):
        kinds = ["int", "var", "var"]
        if depth < 2:
            kinds += ["add", "sub", "mul", "ident", "call", "ifexp", "min"]
            kinds += [k for k, f in (("listcomp", "comprehension"), ("genexp", "genexp-builtin"),
                                     ("walrus", "walrus"), ("global", "global")) if self.has(f)]
        kind = self.pick(kinds)
        if kind == "call" and (self.calls == 0 or self.index == self.count - 1):
            kind = "ident"
        if kind == "int":
            return str(self.small(9))
        if kind == "var":
            return self.pick(VARS)
        if kind in ("add", "sub"):
            return f"({self.expr(depth + 1)} {'+' if kind == 'add' else '-'} {self.expr(depth + 1)})"
        if kind == "mul":
            return f"({self.expr(depth + 1)} * {self.small()})"
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
        if kind == "listcomp":
            return (f"len([ident(v) for v in range({self.small()}) "
                    f"if ident(v) % 2 == {self.small(1)}])")
        if kind == "genexp":
            fn = self.pick(["sum", "max", "min", "any", "all"])
            default = ", default=0" if fn in ("max", "min") else ""
            return f"{fn}((ident(v) + {self.pick(VARS)} for v in range({self.small()})){default})"
        if kind == "walrus":
            return f"(y := ident({self.expr(depth + 1)}))"
        self.uses_global = True
        return "G"

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

    # -- statements ---------------------------------------------------------

    def block(self, indent, depth, in_loop):
        lines = []
        for _ in range(self.draw(st.integers(1, 3))):
            lines += self.stmt(indent, depth, in_loop)
        return lines

    def stmt(self, indent, depth, in_loop):
        kinds = ["assign", "assign", "augassign", "print", "checkpoint", "ident", "raise", "return"]
        if depth < 2:
            kinds += ["if", "for", "while"]
            kinds += [k for k in ("try", "with", "closure", "lambda", "match", "generator")
                      if self.has(k)]
            if self.has("generator-pause"):
                kinds.append("generator-pause")
            if self.has("global"):
                kinds.append("global")
        if in_loop:
            kinds += ["break", "break"]   # break or continue
        kind = self.pick(kinds)
        return getattr(self, "s_" + kind.replace("-", "_"))("    " * indent, indent, depth, in_loop)

    def s_assign(self, pad, indent, depth, in_loop):
        return [f"{pad}{self.pick(ASSIGNABLE)} = {self.expr()}"]

    def s_augassign(self, pad, indent, depth, in_loop):
        return [f"{pad}{self.pick(ASSIGNABLE)} += {self.expr()}"]

    def s_print(self, pad, indent, depth, in_loop):
        return [f"{pad}print({self.index}, {self.expr()}, {self.pick(VARS)})"]

    def s_checkpoint(self, pad, indent, depth, in_loop):
        return [f"{pad}kappa.checkpoint()"]

    def s_ident(self, pad, indent, depth, in_loop):
        return [f"{pad}ident({self.expr()})"]

    def s_raise(self, pad, indent, depth, in_loop):
        return [f"{pad}if {self.cond()}:", f"{pad}    raise ValueError({self.index} * 1000 + {self.expr()})"]

    def s_return(self, pad, indent, depth, in_loop):
        return [f"{pad}if {self.cond()}:", f"{pad}    return {self.expr()}"]

    def s_break(self, pad, indent, depth, in_loop):
        return [f"{pad}if {self.cond()}:", f"{pad}    {self.pick(['break', 'continue'])}"]

    def s_if(self, pad, indent, depth, in_loop):
        lines = [f"{pad}if {self.cond()}:"] + self.block(indent + 1, depth + 1, in_loop)
        if self.draw(st.booleans()):
            lines += [f"{pad}else:"] + self.block(indent + 1, depth + 1, in_loop)
        return lines

    def s_for(self, pad, indent, depth, in_loop):
        var = self.pick(ASSIGNABLE)
        iterable = self.pick([f"range({self.small()})", "[a, b]", f"range(ident({self.small(2)}))"])
        lines = [f"{pad}for {var} in {iterable}:"] + self.block(indent + 1, depth + 1, True)
        return lines + self.loop_else(pad, indent, depth, in_loop)

    def s_while(self, pad, indent, depth, in_loop):
        counter = self.fresh("w")
        test = self.pick([f"{counter} < {self.small()}", f"ident({counter}) < {self.small()}"])
        lines = [f"{pad}{counter} = 0", f"{pad}while {test}:", f"{pad}    {counter} += 1"]
        lines += self.block(indent + 1, depth + 1, True)
        return lines + self.loop_else(pad, indent, depth, in_loop)

    def loop_else(self, pad, indent, depth, in_loop):
        if self.draw(st.booleans()):
            return [f"{pad}else:"] + self.block(indent + 1, depth + 1, in_loop)
        return []

    def s_try(self, pad, indent, depth, in_loop):
        lines = [f"{pad}try:"] + self.block(indent + 1, depth + 1, in_loop)
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

    def s_with(self, pad, indent, depth, in_loop):
        tags = [self.fresh("m") for _ in range(self.draw(st.integers(1, 2)))]
        managers = ", ".join(f"Manager({tag!r}, {self.draw(st.booleans())})" for tag in tags)
        return [f"{pad}with {managers} as m:"] + self.block(indent + 1, depth + 1, in_loop)

    def s_closure(self, pad, indent, depth, in_loop):
        name = self.fresh("inner")
        var = self.pick(ASSIGNABLE)
        body = self.block(indent + 1, 2, False)   # statements of the inner function: no nesting
        return ([f"{pad}def {name}(v):", f"{pad}    nonlocal x, y, z", f"{pad}    {var} = {var} + ident(v)"]
                + body + [f"{pad}    return {var} * 2 + v",
                          f"{pad}{self.pick(ASSIGNABLE)} = {name}({self.expr()})"])

    def s_lambda(self, pad, indent, depth, in_loop):
        name = self.fresh("h")
        return [f"{pad}{name} = lambda v: ident(v) + {self.pick(VARS)}",
                f"{pad}{self.pick(ASSIGNABLE)} = {name}({self.expr()}) + {name}({self.small()})"]

    def s_match(self, pad, indent, depth, in_loop):
        lines = [f"{pad}match {self.expr()} % 3:", f"{pad}    case 0:"]
        lines += self.block(indent + 2, depth + 1, in_loop)
        lines += [f"{pad}    case 1 | 2 if {self.cond()}:"] + self.block(indent + 2, depth + 1, in_loop)
        if self.draw(st.booleans()):
            lines += [f"{pad}    case _:"] + self.block(indent + 2, depth + 1, in_loop)
        return lines

    def s_generator(self, pad, indent, depth, in_loop):
        var = self.pick(ASSIGNABLE)
        lines = [f"{pad}for {var} in gen({self.small()}, {self.pick(VARS)}):", f"{pad}    ident({var})"]
        return lines + self.block(indent + 1, depth + 1, True)

    def s_generator_pause(self, pad, indent, depth, in_loop):
        var = self.pick(ASSIGNABLE)
        return [f"{pad}for {var} in gen_pausing({self.small()}):"] + self.block(indent + 1, depth + 1, True)

    def s_global(self, pad, indent, depth, in_loop):
        self.uses_global = True
        return [f"{pad}G = G + {self.expr()}"]

    def function(self):
        body = self.block(1, 0, False)
        body.append(f"    return ({self.expr()}) % 1009")
        head = [f"def f{self.index}(a, b):"]
        if self.uses_global:
            head.append("    global G")
        return "\n".join(head + ["    x = 0", "    y = 1", "    z = 2"] + body)


@st.composite
def programs(draw, features=frozenset()):
    """The source of one program using only `features` beyond the basics."""
    count = draw(st.integers(1, 3))
    functions = [Gen(draw, i, count, features).function() for i in range(count)]
    source = PRELUDE
    if "generator" in features:
        source += GENERATOR
    if "generator-pause" in features:
        source += PAUSING_GENERATOR
    return source + "\n\n" + "\n\n\n".join(functions) + "\n" + MAIN
