"""Pass 4: flatten function bodies (A-normal form) around pausing calls.

Afterwards every pausing call is a statement of its own, `call(...)` or
`name = call(...)`, so that a continuation can start right after it.
Evaluation order is kept exactly: whatever the original evaluated before a
pausing call (except constants and plain local loads, which a call cannot
change) is stored in a temporary first. Lazy operands (`and`, `or`,
`x if c else y`, later links of a chained comparison) become if statements.

A for loop whose body may pause iterates over a named iterator
(`__k_itN = iter(E)`), so the iterator is a live variable and a continuation
can go on with the same iterator after a restore.
"""

import ast

from .astutil import (PREFIX, RUNTIME, Temps, assign, at, contains_pause,
                      is_pausing_call, iterator_name, load, store)
from .errors import CompileError

def flatten_function(fn, local_names, filename="<program>"):
    """Return fn's body in A-normal form (fn itself is not modified)."""
    return Flattener(local_names, filename).block(fn.body)


def runtime_attr(name, like):
    """`__kappa__.name`: builtins the generated code needs, safe from shadowing."""
    return at(ast.Attribute(value=load(RUNTIME, like), attr=name, ctx=ast.Load()), like)


class Flattener:
    def __init__(self, local_names, filename):
        self.locals = set(local_names)
        self.filename = filename
        self.temps = Temps()
        self.rebound = set()   # names a walrus rebinds in the current statement

    # -- statements ---------------------------------------------------------

    def block(self, stmts):
        out = []
        for s in stmts:
            out.extend(self.stmt(s))
        return out

    def stmt(self, s):
        self.rebound = {n.target.id for n in ast.walk(s) if isinstance(n, ast.NamedExpr)}
        handler = getattr(self, "s_" + type(s).__name__, None)
        if handler is not None:
            return handler(s)
        if contains_pause(s):
            self.unsupported(s)
        return [s]

    def s_Expr(self, s):
        if not contains_pause(s):
            return [s]
        out = []
        if is_pausing_call(s.value):
            value = self.pausing_call(s.value, out)
        else:
            value = self.expr(s.value, out)
        out.append(at(ast.Expr(value=value), s))
        return out

    def s_Assign(self, s):
        if not contains_pause(s):
            return [s]
        out = []
        if not any(contains_pause(t) for t in s.targets):
            if (len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)
                    and is_pausing_call(s.value)):
                value = self.pausing_call(s.value, out)  # `x = f()` is a pause point itself
            else:
                value = self.expr(s.value, out)
            out.append(at(ast.Assign(targets=s.targets, value=value), s))
            return out
        # The value is evaluated before the targets, targets left to right.
        value = self.spill(self.expr(s.value, out), out)
        for target in s.targets:
            target = self.target(target, out)
            out.append(at(ast.Assign(targets=[target], value=value), s))
        return out

    def s_AnnAssign(self, s):
        if s.value is None or not contains_pause(s):
            return [s]
        # In a function an annotation is never evaluated: a plain assignment.
        return self.s_Assign(at(ast.Assign(targets=[s.target], value=s.value), s))

    def s_AugAssign(self, s):
        if not contains_pause(s):
            return [s]
        out = []
        target = s.target
        if isinstance(target, ast.Name):
            # The target is a local: the call cannot rebind it, so loading it
            # after the call is the same.
            value = self.expr(s.value, out)
            out.append(at(ast.AugAssign(target=target, op=s.op, value=value), s))
            return out
        # a[i] += v: evaluate a, i, load a[i], then v, then operate and store.
        container = self.spill(self.expr(target.value, out), out)
        if isinstance(target, ast.Subscript):
            index = self.stable_index(target.slice, out)
            make = lambda ctx: at(ast.Subscript(value=container, slice=index, ctx=ctx), target)  # noqa: E731
        else:
            make = lambda ctx: at(ast.Attribute(value=container, attr=target.attr, ctx=ctx), target)  # noqa: E731
        current = self.temps.new()
        out.append(assign(current, make(ast.Load()), target))
        value = self.expr(s.value, out)
        out.append(at(ast.AugAssign(target=store(current, s), op=s.op, value=value), s))
        out.append(at(ast.Assign(targets=[make(ast.Store())], value=load(current, s)), s))
        return out

    def s_Return(self, s):
        if not contains_pause(s):
            return [s]
        out = []
        value = self.expr(s.value, out)
        out.append(at(ast.Return(value=value), s))
        return out

    def s_Raise(self, s):
        if not contains_pause(s):
            return [s]
        out = []
        exc, cause = self.seq([s.exc, s.cause], out)
        out.append(at(ast.Raise(exc=exc, cause=cause), s))
        return out

    def s_Assert(self, s):
        if not contains_pause(s):
            return [s]
        body = []
        test = self.condition(s.test, body)
        if s.msg is not None and contains_pause(s.msg):
            fail = []
            msg = self.expr(s.msg, fail)
            error = at(ast.Call(func=runtime_attr("AssertionError", s), args=[msg], keywords=[]), s)
            fail.append(at(ast.Raise(exc=error, cause=None), s))
            body.append(at(ast.If(test=_not(test), body=fail, orelse=[]), s))
        else:
            body.append(at(ast.Assert(test=test, msg=s.msg), s))
        # `if __debug__:` keeps the assertion, and its calls, out of `python -O`.
        return [at(ast.If(test=load("__debug__", s), body=body, orelse=[]), s)]

    def s_Delete(self, s):
        if not contains_pause(s):
            return [s]
        out = []
        for target in s.targets:  # deleted one after the other
            out.append(at(ast.Delete(targets=[self.target(target, out)]), s))
        return out

    def s_If(self, s):
        out = []
        test = self.condition(s.test, out)
        out.append(at(ast.If(test=test, body=self.block(s.body), orelse=self.block(s.orelse)), s))
        return out

    # Loop headers are flattened before the bodies: flattening a body statement
    # resets self.rebound, which the header still needs.

    def s_While(self, s):
        if not contains_pause(s.test):
            return [at(ast.While(test=s.test, body=self.block(s.body),
                                 orelse=self.block(s.orelse)), s)]
        # while True: <test>; if not test: <else>; break; <body>
        check = []
        test = self.condition(s.test, check)
        flag = self.temps.new("else") if s.orelse else None
        body, orelse = self.block(s.body), self.block(s.orelse)
        if flag is None:
            check.append(at(ast.If(test=_not(test), body=[at(ast.Break(), s)], orelse=[]), s))
            return [at(ast.While(test=ast.Constant(True), body=check + body, orelse=[]), s)]
        # The else part runs after the loop, guarded by a flag, so that a
        # break/continue inside it still refers to the enclosing loop.
        leave = [assign(flag, at(ast.Constant(True), s), s), at(ast.Break(), s)]
        check.append(at(ast.If(test=_not(test), body=leave, orelse=[]), s))
        return [
            assign(flag, at(ast.Constant(False), s), s),
            at(ast.While(test=ast.Constant(True), body=check + body, orelse=[]), s),
            at(ast.If(test=load(flag, s), body=orelse, orelse=[]), s),
        ]

    def s_For(self, s):
        out = []
        iterable = self.expr(s.iter, out)
        if contains_pause(ast.Module(body=s.body, type_ignores=[])):
            name = iterator_name(s)
            # located from `for` to the end of the iterable: no call has that range
            header = ast.Pass(lineno=s.lineno, col_offset=s.col_offset,
                              end_lineno=s.iter.end_lineno, end_col_offset=s.iter.end_col_offset)
            call = at(ast.Call(func=runtime_attr("iter", header), args=[iterable], keywords=[]), header)
            out.append(assign(name, call, s))
            self.locals.add(name)
            iterable = load(name, s)
        out.append(at(ast.For(target=s.target, iter=iterable, body=self.block(s.body),
                              orelse=self.block(s.orelse), type_comment=None), s))
        return out

    def unsupported(self, node):
        raise CompileError.at(self.filename, node, f"pausing call in {type(node).__name__}",
                              "assign the call's result to a variable in its own statement first")

    # -- expressions --------------------------------------------------------

    def expr(self, e, out):
        """An expression equal to `e` when evaluated after the statements
        appended to `out`."""
        if e is None or not contains_pause(e):
            return e
        handler = getattr(self, "x_" + type(e).__name__, None)
        if handler is None:
            self.unsupported(e)
        return handler(e, out)

    def condition(self, e, out):
        """Like expr, for a test (if, while, assert): an `and`/`or` there calls
        bool() once on each operand it evaluates, as Python's jumps do."""
        if not (isinstance(e, ast.BoolOp) and any(contains_pause(v) for v in e.values[1:])):
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

    def trivial(self, e):
        """Values a pausing call cannot change: constants and local loads."""
        if isinstance(e, ast.Constant):
            return True
        return (isinstance(e, ast.Name) and e.id not in self.rebound
                and (e.id in self.locals or e.id.startswith(PREFIX)))

    def spill(self, e, out):
        """Evaluate `e` now into a temporary unless it is trivial."""
        if e is None or self.trivial(e):
            return e
        if isinstance(e, ast.Slice):   # `a:b` exists only inside [...]: build slice(a, b)
            parts = [p if p is not None else at(ast.Constant(None), e) for p in (e.lower, e.upper, e.step)]
            e = at(ast.Call(func=runtime_attr("slice", e), args=parts, keywords=[]), e)
        name = self.temps.new()
        out.append(assign(name, e, e))
        return load(name, e)

    def seq(self, kids, out, kinds=None):
        """Flatten children evaluated left to right.

        Children before the last one that pauses are evaluated into
        temporaries; the rest stay in place. `kinds` marks children whose
        evaluation has an effect beyond their value: 'star' (`*x`, iterated
        now), 'dstar' (`**m`, merged now), 'fmt' (an f-string part, formatted
        now).
        """
        kinds = kinds or ["plain"] * len(kids)
        pausing = [i for i, k in enumerate(kids) if k is not None and contains_pause(k)]
        last = pausing[-1] if pausing else -1
        res = []
        for i, (kid, kind) in enumerate(zip(kids, kinds)):
            if kid is None or i > last:
                res.append(kid)
            elif kind == "star":
                value = self.expr(kid.value, out)
                if i < last:
                    value = self._temp(at(ast.Tuple(elts=[at(ast.Starred(value=value, ctx=ast.Load()), kid)],
                                                    ctx=ast.Load()), kid), out)
                res.append(at(ast.Starred(value=value, ctx=ast.Load()), kid))
            elif kind == "dstar":
                value = self.expr(kid, out)
                if i < last:
                    value = self._temp(at(ast.Dict(keys=[None], values=[value]), kid), out)
                res.append(value)
            elif kind == "fmt":
                if kid.format_spec is not None and contains_pause(kid.format_spec):
                    self.unsupported(kid)
                part = at(ast.FormattedValue(value=self.expr(kid.value, out),
                                             conversion=kid.conversion,
                                             format_spec=kid.format_spec), kid)
                if i < last:
                    text = self._temp(at(ast.JoinedStr(values=[part]), kid), out)
                    part = at(ast.FormattedValue(value=text, conversion=-1, format_spec=None), kid)
                res.append(part)
            else:
                value = self.expr(kid, out)
                res.append(self.spill(value, out) if i < last else value)
        return res

    def _temp(self, e, out):
        name = self.temps.new()
        out.append(assign(name, e, e))
        return load(name, e)

    def call_parts(self, e, out):
        kids = [e.func] + e.args + [k.value for k in e.keywords]
        kinds = (["plain"] + ["star" if isinstance(a, ast.Starred) else "plain" for a in e.args]
                 + ["dstar" if k.arg is None else "plain" for k in e.keywords])
        vals = self.seq(kids, out, kinds)
        n = len(e.args)
        keywords = [at(ast.keyword(arg=k.arg, value=v), k) for k, v in zip(e.keywords, vals[1 + n:])]
        call = at(ast.Call(func=vals[0], args=vals[1:1 + n], keywords=keywords), e)
        call.kappa_pause = getattr(e, "kappa_pause", False)
        return call

    def pausing_call(self, e, out):
        """The call itself with flattened parts; the caller puts it in a statement."""
        return self.call_parts(e, out)

    def x_Call(self, e, out):
        call = self.call_parts(e, out)
        if is_pausing_call(call):
            return self._temp(call, out)
        return call

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

    def x_BoolOp(self, e, out):
        first = self.expr(e.values[0], out)
        rest = e.values[1:]
        if not any(contains_pause(v) for v in rest):
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
        if not (contains_pause(e.body) or contains_pause(e.orelse)):
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
        if not any(contains_pause(c) for c in e.comparators[1:]):
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

    def _comprehension(self, e, out):
        # Only the first iterable may pause (check rejects the rest); it is
        # evaluated in the function before the comprehension starts.
        first = self.expr(e.generators[0].iter, out)
        gen = e.generators[0]
        gens = [ast.comprehension(target=gen.target, iter=first, ifs=gen.ifs,
                                  is_async=gen.is_async)] + e.generators[1:]
        if isinstance(e, ast.DictComp):
            return at(ast.DictComp(key=e.key, value=e.value, generators=gens), e)
        return at(type(e)(elt=e.elt, generators=gens), e)

    x_ListComp = x_SetComp = x_DictComp = x_GeneratorExp = _comprehension

    # -- targets ------------------------------------------------------------

    def target(self, t, out):
        """Flatten the parts of an assignment/del target (evaluated at store time)."""
        if not contains_pause(t):
            return t
        if isinstance(t, ast.Subscript):
            value, index = self.seq([t.value, t.slice], out)
            return at(ast.Subscript(value=value, slice=index, ctx=t.ctx), t)
        if isinstance(t, ast.Attribute):
            return at(ast.Attribute(value=self.expr(t.value, out), attr=t.attr, ctx=t.ctx), t)
        self.unsupported(t)

    def stable_index(self, index, out):
        """An index that can be evaluated twice (load and store) with no effect."""
        if isinstance(index, ast.Slice):
            parts = [self.spill(self.expr(p, out), out) for p in (index.lower, index.upper, index.step)]
            return at(ast.Slice(lower=parts[0], upper=parts[1], step=parts[2]), index)
        return self.spill(self.expr(index, out), out)


def _not(test):
    return at(ast.UnaryOp(op=ast.Not(), operand=test), test)
