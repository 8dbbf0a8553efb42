"""Flattening expressions around suspensions (part of the flatten stage, see flatten.py).

`expr(e, out)` returns an expression equal to `e` when evaluated after the
statements it appended to `out`. Whatever the original evaluated before a
suspension is stored in a temporary first, except values a suspension
cannot change (constants, plain local loads, names nothing rebinds). Lazy
operands (`and`, `or`, `x if c else y`, later links of a chained
comparison) become if statements.
"""

import ast

from .ast_builders import assign, at, load, runtime_attr
from .ast_queries import is_pausing_call, is_yield, walk_scope
from .errors import CompileError
from .names import PREFIX, Temps


def _not(test):
    return at(ast.UnaryOp(op=ast.Not(), operand=test), test)


def deep_pauses(node):
    """True if a pausing call is reachable from `node` through expressions,
    lambda bodies and comprehensions included (not def or class bodies)."""
    todo = [node]
    while todo:
        n = todo.pop()
        if is_pausing_call(n):
            return True
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            todo.extend(n.decorator_list)
            todo.extend(n.bases if isinstance(n, ast.ClassDef) else n.args.defaults)
            continue
        todo.extend(ast.iter_child_nodes(n))
    return False


class ExpressionFlattener:
    """The expression half of the Flattener (needs self.mode, self.trivial_names,
    self.stable, self.temps, self.rebound, self.filename and self.stmt)."""

    temps: Temps

    # -- what needs flattening ----------------------------------------------------

    def is_suspension(self, node):
        if self.mode == "generator":
            return is_yield(node)
        return is_pausing_call(node)

    def suspends(self, node):
        """True if `node` contains something that must become statements: a
        suspension, a lambda whose body pauses, a comprehension whose
        elements pause (function mode)."""
        if node is None:
            return False
        for n in walk_scope(node):
            if self.is_suspension(n):
                return True
            if isinstance(n, ast.Lambda) and deep_pauses(n.body):
                return True
            if self.mode == "function" and self.comprehension_pauses(n):
                return True
        return False

    def comprehension_pauses(self, node):
        if not isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            return False
        parts = [p for i, g in enumerate(node.generators)
                 for p in ([g.target] + ([] if i == 0 else [g.iter]) + g.ifs)]
        parts += [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        return any(deep_pauses(p) for p in parts)

    def unsupported(self, node, what=None):
        raise CompileError.at(self.filename, node, what or f"pausing call in {type(node).__name__}",
                              "assign the call's result to a variable in its own statement first")

    # -- the core -----------------------------------------------------------------

    def expr(self, e, out):
        """An expression equal to `e` when evaluated after the statements
        appended to `out`."""
        if e is None or not self.suspends(e):
            return e
        handler = getattr(self, "x_" + type(e).__name__, None)
        if handler is None:
            self.unsupported(e)
        return handler(e, out)

    def trivial(self, e):
        """Values a suspension cannot change: constants, plain local loads,
        names nothing rebinds."""
        if isinstance(e, ast.Constant):
            return True
        if not isinstance(e, ast.Name) or e.id in self.rebound:
            return False
        return e.id in self.trivial_names or e.id.startswith(PREFIX) or e.id in self.stable

    def spill(self, e, out):
        """Evaluate `e` now into a temporary unless it is trivial."""
        if e is None or self.trivial(e):
            return e
        if isinstance(e, ast.Slice):   # `a:b` exists only inside [...]: build slice(a, b)
            parts = [p if p is not None else at(ast.Constant(None), e) for p in (e.lower, e.upper, e.step)]
            e = at(ast.Call(func=runtime_attr("slice", e), args=parts, keywords=[]), e)
        return self.temp(e, out)

    def temp(self, e, out):
        name = self.temps.new()
        out.append(assign(name, e, e))
        return load(name, e)

    def seq(self, kids, out, kinds=None):
        """Flatten children evaluated left to right.

        Children before the last one that suspends are evaluated into
        temporaries; the rest stay in place. `kinds` marks children whose
        evaluation has an effect beyond their value: 'star' (`*x`, iterated
        now), 'dstar' (`**m`, merged now), 'fmt' (an f-string part, formatted
        now).
        """
        kinds = kinds or ["plain"] * len(kids)
        pausing = [i for i, k in enumerate(kids) if k is not None and self.suspends(k)]
        last = pausing[-1] if pausing else -1
        res = []
        for i, (kid, kind) in enumerate(zip(kids, kinds)):
            if kid is None or i > last:
                res.append(kid)
            elif kind == "star":
                value = self.expr(kid.value, out)
                if i < last:
                    value = self.temp(at(ast.Tuple(elts=[at(ast.Starred(value=value, ctx=ast.Load()), kid)],
                                                   ctx=ast.Load()), kid), out)
                res.append(at(ast.Starred(value=value, ctx=ast.Load()), kid))
            elif kind == "dstar":
                value = self.expr(kid, out)
                if i < last:
                    value = self.temp(at(ast.Dict(keys=[None], values=[value]), kid), out)
                res.append(value)
            elif kind == "fmt":
                res.append(self._formatted(kid, out, i < last))
            else:
                value = self.expr(kid, out)
                res.append(self.spill(value, out) if i < last else value)
        return res

    def _formatted(self, kid, out, before_last):
        """An f-string part: the value, then its format spec, then format()."""
        spec = kid.format_spec
        if spec is not None and self.suspends(spec):
            value = self.spill(self.expr(kid.value, out), out)
            spec = self.expr(spec, out)
        else:
            value = self.expr(kid.value, out)
        part = at(ast.FormattedValue(value=value, conversion=kid.conversion, format_spec=spec), kid)
        if before_last:
            text = self.temp(at(ast.JoinedStr(values=[part]), kid), out)
            part = at(ast.FormattedValue(value=text, conversion=-1, format_spec=None), kid)
        return part

    # -- calls ----------------------------------------------------------------------

    def call_parts(self, e, out):
        kids = [e.func] + e.args + [k.value for k in e.keywords]
        kinds = (["plain"] + ["star" if isinstance(a, ast.Starred) else "plain" for a in e.args]
                 + ["dstar" if k.arg is None else "plain" for k in e.keywords])
        vals = self.seq(kids, out, kinds)
        n = len(e.args)
        keywords = [at(ast.keyword(arg=k.arg, value=v), k) for k, v in zip(e.keywords, vals[1 + n:])]
        call = at(ast.Call(func=vals[0], args=vals[1:1 + n], keywords=keywords), e)
        call.kappa_pause = getattr(e, "kappa_pause", False)
        call.kappa_attr = getattr(e, "kappa_attr", e.func.attr if isinstance(e.func, ast.Attribute) else None)
        return call

    def x_Call(self, e, out):
        rewritten = self.consumer_loop(e, out) if self.mode == "function" else None
        if rewritten is not None:
            return rewritten
        call = self.call_parts(e, out)
        if self.is_suspension(call):
            return self.temp(call, out)
        return call

    def x_Yield(self, e, out):
        return self.temp(at(type(e)(value=self.expr(e.value, out)), e), out)

    x_YieldFrom = x_Yield

    # -- operators --------------------------------------------------------------------

    def x_BinOp(self, e, out):
        left, right = self.seq([e.left, e.right], out)
        return at(ast.BinOp(left=left, op=e.op, right=right), e)

    def x_UnaryOp(self, e, out):
        return at(ast.UnaryOp(op=e.op, operand=self.expr(e.operand, out)), e)

    def x_Attribute(self, e, out):
        return at(ast.Attribute(value=self.expr(e.value, out), attr=e.attr, ctx=e.ctx), e)

    def x_Subscript(self, e, out):
        value, index = self.seq([e.value, e.slice], out)
        return at(ast.Subscript(value=value, slice=index, ctx=e.ctx), e)

    def x_Slice(self, e, out):
        lower, upper, step = self.seq([e.lower, e.upper, e.step], out)
        return at(ast.Slice(lower=lower, upper=upper, step=step), e)

    def x_Starred(self, e, out):
        return at(ast.Starred(value=self.expr(e.value, out), ctx=e.ctx), e)

    def x_NamedExpr(self, e, out):
        return at(ast.NamedExpr(target=e.target, value=self.expr(e.value, out)), e)

    def _elements(self, e, out):
        kinds = ["star" if isinstance(x, ast.Starred) else "plain" for x in e.elts]
        return self.seq(e.elts, out, kinds)

    def x_Tuple(self, e, out):
        return at(ast.Tuple(elts=self._elements(e, out), ctx=e.ctx), e)

    def x_List(self, e, out):
        return at(ast.List(elts=self._elements(e, out), ctx=e.ctx), e)

    def x_Set(self, e, out):
        return at(ast.Set(elts=self._elements(e, out)), e)

    def x_Dict(self, e, out):
        kids, kinds = [], []
        for key, value in zip(e.keys, e.values):
            if key is None:
                kids.append(value)
                kinds.append("dstar")
            else:
                kids += [key, value]
                kinds += ["plain", "plain"]
        vals = iter(self.seq(kids, out, kinds))
        keys, values = [], []
        for key in e.keys:
            keys.append(None if key is None else next(vals))
            values.append(next(vals))
        return at(ast.Dict(keys=keys, values=values), e)

    def x_JoinedStr(self, e, out):
        kinds = ["fmt" if isinstance(v, ast.FormattedValue) else "plain" for v in e.values]
        return at(ast.JoinedStr(values=self.seq(e.values, out, kinds)), e)

    # -- lazy operands --------------------------------------------------------------

    def condition(self, e, out):
        """Like expr, for a test (if, while, assert): an `and`/`or` there calls
        bool() once on each operand it evaluates, as Python's jumps do."""
        if not (isinstance(e, ast.BoolOp) and any(self.suspends(v) for v in e.values[1:])):
            return self.expr(e, out)
        # and: c = False; if A: <B>; if B: c = True      (or: negated tests)
        is_or = isinstance(e.op, ast.Or)
        flag = self.temps.new()
        out.append(assign(flag, at(ast.Constant(is_or), e), e))
        where = out
        for i, value in enumerate(e.values):
            test = self.expr(value, where)
            body = []
            if i == len(e.values) - 1:
                body.append(assign(flag, at(ast.Constant(not is_or), e), value))
            where.append(at(ast.If(test=_not(test) if is_or else test, body=body, orelse=[]), value))
            where = body
        return load(flag, e)

    def x_BoolOp(self, e, out):
        first = self.expr(e.values[0], out)
        rest = e.values[1:]
        if not any(self.suspends(v) for v in rest):
            return at(ast.BoolOp(op=e.op, values=[first] + rest), e)
        # t = a; if t: t = b; if t: t = c ...  (`or` tests `not t`)
        result = self.temps.new()
        out.append(assign(result, first, e))
        where = out
        for value in rest:
            body = []
            body.append(assign(result, self.expr(value, body), value))
            test = load(result, value)
            if isinstance(e.op, ast.Or):
                test = _not(test)
            where.append(at(ast.If(test=test, body=body, orelse=[]), value))
            where = body
        return load(result, e)

    def x_IfExp(self, e, out):
        test = self.expr(e.test, out)
        if not (self.suspends(e.body) or self.suspends(e.orelse)):
            return at(ast.IfExp(test=test, body=e.body, orelse=e.orelse), e)
        result = self.temps.new()
        branches = []
        for branch in (e.body, e.orelse):
            stmts = []
            stmts.append(assign(result, self.expr(branch, stmts), branch))
            branches.append(stmts)
        out.append(at(ast.If(test=test, body=branches[0], orelse=branches[1]), e))
        return load(result, e)

    def x_Compare(self, e, out):
        if not any(self.suspends(c) for c in e.comparators[1:]):
            left, first = self.seq([e.left, e.comparators[0]], out)
            return at(ast.Compare(left=left, ops=e.ops, comparators=[first] + e.comparators[1:]), e)
        # a < b < c with a pausing c: c is evaluated only if a < b holds.
        left, first = self.seq([e.left, e.comparators[0]], out)
        left = self.spill(left, out)
        prev = self.spill(first, out)  # compared twice, evaluated once
        result = self.temps.new()
        out.append(assign(result, at(ast.Compare(left=left, ops=[e.ops[0]], comparators=[prev]), e), e))
        where = out
        count = len(e.comparators)
        for i in range(1, count):
            body = []
            value = self.expr(e.comparators[i], body)
            if i < count - 1:
                value = self.spill(value, body)
            cmp = at(ast.Compare(left=prev, ops=[e.ops[i]], comparators=[value]), e.comparators[i])
            body.append(assign(result, cmp, e.comparators[i]))
            where.append(at(ast.If(test=load(result, e), body=body, orelse=[]), e.comparators[i]))
            where, prev = body, value
        return load(result, e)

    # -- nested scopes ------------------------------------------------------------------

    def x_Lambda(self, e, out):
        """A lambda whose body pauses becomes a def (compiled like any
        function), defined where the lambda was evaluated."""
        a = e.args
        values = self.seq(a.defaults + [d for d in a.kw_defaults if d is not None], out)
        defaults = values[:len(a.defaults)]
        rest = iter(values[len(a.defaults):])
        kw_defaults = [None if d is None else next(rest) for d in a.kw_defaults]
        args = ast.arguments(posonlyargs=a.posonlyargs, args=a.args, vararg=a.vararg,
                             kwonlyargs=a.kwonlyargs, kw_defaults=kw_defaults, kwarg=a.kwarg,
                             defaults=defaults)
        if not deep_pauses(e.body):   # only a default pauses: it stays a lambda
            return at(ast.Lambda(args=args, body=e.body), e)
        name = self.temps.new("lambda")
        body = [at(ast.Return(value=e.body), e.body)]
        fn = at(ast.FunctionDef(name=name, args=args, body=body, decorator_list=[], returns=None,
                                type_comment=None), e)
        fn.kappa_name = "<lambda>"
        out.append(fn)
        return load(name, e)

    def x_ListComp(self, e, out):
        return self.inline_comprehension(e, out)

    x_SetComp = x_DictComp = x_ListComp
