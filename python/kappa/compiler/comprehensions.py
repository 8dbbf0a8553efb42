"""Comprehensions whose elements pause become loops (part of the flatten stage).

A pause inside a comprehension's own frame, or inside a generator that a C
function (sum, any, sorted...) is iterating, cannot be captured. So

    [f(x) for x in xs if g(x)]      ->  r = []; for x' in xs: if g(x'): v = f(x'); r.append(v)
    any(f(x) for x in xs)           ->  r = False; for x' in xs: v = f(x'); if v: r = True; break
    next((x for x in xs if g(x)), d) -> f = True; for x' in xs: if g(x'): v = x'; f = False; break
                                        if f: v = next(iter(()), d)

with the same semantics as the original: the first iterable evaluated (and
iter() called) where the comprehension was, other arguments after it, the
comprehension's variables renamed so they do not leak, short-circuit kept,
min/max comparing like the builtins.
"""

import ast
import sys

from .ast_builders import assign, at, load, plain_call, runtime_call

# Builtins that consume an iterable at once: {name: keywords they take}.
CONSUMERS = {
    "list": (), "tuple": (), "set": (), "frozenset": (), "dict": None, "sorted": ("key", "reverse"),
    "any": (), "all": (), "sum": ("start",), "min": ("key", "default"), "max": ("key", "default"),
    "next": (),
}
# sum() of floats is compensated from 3.12 on: then build the list and call sum.
_SUM_LOOP = sys.version_info < (3, 12)


class _Renamer(ast.NodeTransformer):
    """Renames a comprehension's variables, respecting nested scopes that
    bind the same names."""

    def __init__(self, mapping):
        self.mapping = mapping

    def visit_Name(self, node):
        if node.id in self.mapping:
            node.id = self.mapping[node.id]
        return node

    def _without(self, names):
        return _Renamer({k: v for k, v in self.mapping.items() if k not in names})

    def visit_Lambda(self, node):
        a = node.args
        for d in a.defaults + [d for d in a.kw_defaults if d is not None]:
            self.visit(d)
        params = {p.arg for p in a.posonlyargs + a.args + a.kwonlyargs + [x for x in (a.vararg, a.kwarg) if x]}
        node.body = self._without(params).visit(node.body)
        return node

    def _comprehension(self, node):
        node.generators[0].iter = self.visit(node.generators[0].iter)
        bound = {n.id for g in node.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)}
        inner = self._without(bound)
        for i, g in enumerate(node.generators):
            if i:
                g.iter = inner.visit(g.iter)
            g.ifs = [inner.visit(c) for c in g.ifs]
        if isinstance(node, ast.DictComp):
            node.key, node.value = inner.visit(node.key), inner.visit(node.value)
        else:
            node.elt = inner.visit(node.elt)
        return node

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension


def _call(func, args, like, keywords=()):
    call = plain_call(func, args, like)
    call.keywords = list(keywords)
    return call


class ComprehensionFlattener:
    """The comprehension half of the Flattener (mixed into it)."""

    def _renamed(self, e):
        """Fresh names for the comprehension's variables, renamed in its parts."""
        names = {n.id for g in e.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)}
        mapping = {n: self.temps.new("cv") for n in sorted(names)}
        renamer = _Renamer(mapping)
        for i, g in enumerate(e.generators):
            g.target = renamer.visit(g.target)
            if i:
                g.iter = renamer.visit(g.iter)
            g.ifs = [renamer.visit(c) for c in g.ifs]
        if isinstance(e, ast.DictComp):
            e.key, e.value = renamer.visit(e.key), renamer.visit(e.value)
        else:
            e.elt = renamer.visit(e.elt)
        return e

    def _loop(self, e, first, innermost, done=None):
        """Nested for/if statements running `innermost` for each element;
        `done` (an expression) ends all the loops early when true."""
        body = innermost
        for i in range(len(e.generators) - 1, -1, -1):
            g = e.generators[i]
            for cond in reversed(g.ifs):
                body = [at(ast.If(test=cond, body=body, orelse=[]), cond)]
            loop = at(ast.For(target=g.target, iter=first if i == 0 else g.iter, body=body, orelse=[],
                              type_comment=None), g.target)
            body = [loop]
            if done is not None and i > 0:
                body.append(at(ast.If(test=done(), body=[at(ast.Break(), g.target)], orelse=[]), g.target))
        return body

    def _emit(self, stmts, out):
        """Flatten generated statements into `out` (keeps the current statement's state)."""
        rebound = self.rebound
        for s in stmts:
            out.extend(self.stmt(s))
        self.rebound = rebound

    def inline_comprehension(self, e, out):
        first = self.expr(e.generators[0].iter, out)
        if not self.comprehension_pauses(e):   # only the first iterable paused
            g = e.generators[0]
            gens = [ast.comprehension(target=g.target, iter=first, ifs=g.ifs, is_async=g.is_async)]
            gens += e.generators[1:]
            if isinstance(e, ast.DictComp):
                return at(ast.DictComp(key=e.key, value=e.value, generators=gens), e)
            return at(type(e)(elt=e.elt, generators=gens), e)
        e = self._renamed(e)
        acc, item = self.temps.new("r"), self.temps.new("v")
        like = e
        if isinstance(e, ast.DictComp):
            key = self.temps.new("k")
            start = at(ast.Dict(keys=[], values=[]), like)
            innermost = [assign(key, e.key, e.key), assign(item, e.value, e.value),
                         at(ast.Assign(targets=[at(ast.Subscript(value=load(acc, like), slice=load(key, like),
                                                                 ctx=ast.Store()), like)],
                                       value=load(item, like)), like)]
        else:
            method = "add" if isinstance(e, ast.SetComp) else "append"
            start = (runtime_call("set", [], like) if isinstance(e, ast.SetComp)
                     else at(ast.List(elts=[], ctx=ast.Load()), like))
            innermost = [assign(item, e.elt, e.elt), self._append(acc, method, item, e.elt)]
        out.append(assign(acc, start, like))
        self._emit(self._loop(e, first, innermost), out)
        return load(acc, like)

    def _append(self, acc, method, item, like):
        func = at(ast.Attribute(value=load(acc, like), attr=method, ctx=ast.Load()), like)
        return at(ast.Expr(value=plain_call(func, [load(item, like)], like)), like)

    # -- generators handed to builtins ------------------------------------------------

    def consumer_kind(self, e):
        """'list', 'sum', ... or 'join' if `e` is a call that consumes a
        generator expression whose elements pause; else None."""
        if not e.args or not isinstance(e.args[0], ast.GeneratorExp) or not self.comprehension_pauses(e.args[0]):
            return None
        if any(isinstance(a, ast.Starred) for a in e.args) or any(k.arg is None for k in e.keywords):
            return None
        func = e.func
        if isinstance(func, ast.Attribute) and func.attr == "join" and len(e.args) == 1 and not e.keywords:
            return "join"
        if not (isinstance(func, ast.Name) and func.id in CONSUMERS and self.classifier is not None
                and self.classifier.is_builtin(func.id)):
            return None
        allowed = CONSUMERS[func.id]
        if len(e.args) > (2 if func.id in ("sum", "next") else 1):
            return None
        if allowed is not None and any(k.arg not in allowed for k in e.keywords):
            return None
        return func.id

    def consumer_loop(self, e, out):
        kind = self.consumer_kind(e)
        if kind is None:
            return None
        gen = self._renamed(e.args[0])
        # The callee, then the generator (its first iterable, iter()), then the rest.
        func = self.spill(self.expr(e.func, out), out)
        first = self.temp(runtime_call("iter", [self.expr(gen.generators[0].iter, out)], gen), out)
        extra = [self.spill(self.expr(a, out), out) for a in e.args[1:]]
        keywords = {k.arg: self.spill(self.expr(k.value, out), out) for k in e.keywords}
        like = e
        builder = getattr(self, "_consume_" + kind, None) or self._consume_list
        return builder(kind, gen, func, first, extra, keywords, out, like)

    def _collect(self, gen, first, out, like, method="append", start=None):
        acc, item = self.temps.new("r"), self.temps.new("v")
        out.append(assign(acc, start or at(ast.List(elts=[], ctx=ast.Load()), like), like))
        innermost = [assign(item, gen.elt, gen.elt), self._append(acc, method, item, gen.elt)]
        self._emit(self._loop(gen, first, innermost), out)
        return load(acc, like)

    def _consume_list(self, kind, gen, func, first, extra, keywords, out, like):
        items = self._collect(gen, first, out, like)
        if kind == "list":
            return items
        kws = [at(ast.keyword(arg=k, value=v), like) for k, v in keywords.items()]
        return self.temp(_call(func, [items] + extra, like, kws), out)

    def _consume_set(self, kind, gen, func, first, extra, keywords, out, like):
        items = self._collect(gen, first, out, like, "add", runtime_call("set", [], like))
        return items if kind == "set" else self.temp(_call(func, [items], like), out)

    _consume_frozenset = _consume_set

    def _consume_sum(self, kind, gen, func, first, extra, keywords, out, like):
        start = extra[0] if extra else keywords.get("start", at(ast.Constant(0), like))
        if not _SUM_LOOP:
            return self._consume_list(kind, gen, func, first, extra, keywords, out, like)
        # sum((), start) rejects a str start exactly like sum(G, start) does.
        acc, item = self.temps.new("r"), self.temps.new("v")
        empty = at(ast.Tuple(elts=[], ctx=ast.Load()), like)
        out.append(assign(acc, _call(func, [empty, start], like), like))
        add = at(ast.BinOp(left=load(acc, like), op=ast.Add(), right=load(item, like)), like)
        innermost = [assign(item, gen.elt, gen.elt), assign(acc, add, like)]
        self._emit(self._loop(gen, first, innermost), out)
        return load(acc, like)

    def _consume_any(self, kind, gen, func, first, extra, keywords, out, like):
        # any: stop at the first true element; all: at the first false one
        acc, item = self.temps.new("r"), self.temps.new("v")
        found = kind == "any"
        out.append(assign(acc, at(ast.Constant(not found), like), like))
        test = load(item, like) if found else at(ast.UnaryOp(op=ast.Not(), operand=load(item, like)), like)
        stop = at(ast.If(test=test, body=[assign(acc, at(ast.Constant(found), like), like),
                                          at(ast.Break(), like)], orelse=[]), like)

        def done():
            value = load(acc, like)
            return value if found else at(ast.UnaryOp(op=ast.Not(), operand=value), like)

        self._emit(self._loop(gen, first, [assign(item, gen.elt, gen.elt), stop], done), out)
        return load(acc, like)

    _consume_all = _consume_any

    def _consume_min(self, kind, gen, func, first, extra, keywords, out, like):
        """The first of the smallest (min) or largest (max) items, compared
        by key, as the builtins do; empty: `default` or the builtin's error."""
        n = self.temps.new
        fresh, item, value, best, best_value = n("f"), n("v"), n("kv"), n("r"), n("bk")
        out.append(assign(fresh, at(ast.Constant(True), like), like))
        innermost = [assign(item, gen.elt, gen.elt)]
        if "key" in keywords:
            key = keywords["key"]
            keyed = _call(key, [load(item, like)], like)
            keyed.kappa_pause = True   # a key function called by us may pause: it is a direct call now
            is_none = at(ast.Compare(left=key, ops=[ast.Is()], comparators=[ast.Constant(None)]), like)
            innermost.append(at(ast.If(test=is_none, body=[assign(value, load(item, like), like)],
                                       orelse=[assign(value, keyed, like)]), like))
        else:
            innermost.append(assign(value, load(item, like), like))
        take = [assign(best, load(item, like), like), assign(best_value, load(value, like), like)]
        better = at(ast.Compare(left=load(value, like), ops=[ast.Gt() if kind == "max" else ast.Lt()],
                                comparators=[load(best_value, like)]), like)
        innermost.append(at(ast.If(test=load(fresh, like),
                                   body=take + [assign(fresh, at(ast.Constant(False), like), like)],
                                   orelse=[at(ast.If(test=better, body=take, orelse=[]), like)]), like))
        self._emit(self._loop(gen, first, innermost), out)
        empty = keywords.get("default")
        if empty is None:   # the builtin raises its own "empty sequence" error
            empty = _call(func, [at(ast.Tuple(elts=[], ctx=ast.Load()), like)], like)
        out.append(at(ast.If(test=load(fresh, like), body=[assign(best, empty, like)], orelse=[]), like))
        return load(best, like)

    _consume_max = _consume_min

    def _consume_next(self, kind, gen, func, first, extra, keywords, out, like):
        """The first element; none: next() of an empty iterator (the default
        or StopIteration, from the builtin itself)."""
        fresh, item = self.temps.new("f"), self.temps.new("v")
        out.append(assign(fresh, at(ast.Constant(True), like), like))
        innermost = [assign(item, gen.elt, gen.elt), assign(fresh, at(ast.Constant(False), like), like),
                     at(ast.Break(), like)]

        def done():
            return at(ast.UnaryOp(op=ast.Not(), operand=load(fresh, like)), like)

        self._emit(self._loop(gen, first, innermost, done), out)
        nothing = runtime_call("iter", [at(ast.Tuple(elts=[], ctx=ast.Load()), like)], like)
        out.append(at(ast.If(test=load(fresh, like), body=[assign(item, _call(func, [nothing] + extra, like), like)],
                             orelse=[]), like))
        return load(item, like)
