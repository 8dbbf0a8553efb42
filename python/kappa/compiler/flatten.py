"""The flatten stage: function bodies in A-normal form around suspensions.

Afterwards every suspension (a pausing call in a compiled function, a
yield in a generator) sits in a statement of its own: a simple statement
or an if test, as the last thing that statement evaluates before the
suspension itself. What the statement evaluated before it is either
trivial (constants, plain locals) or was stored in a temporary first, so a
continuation can run the statement again with the call's result in place
of the call. Evaluation order is kept exactly (see flatten_expr.py).

A for loop whose body suspends iterates over a named iterator
(`__k_itN__ = iter(E)`), so the iterator is a live variable and a
continuation can go on with the same iterator after a restore.
"""

import ast
from collections.abc import Iterable

from .ast_builders import assign, at, clone, load, replace_node, runtime_call, store
from .ast_queries import all_statements, header_nodes, is_pausing_call, walk_scope
from .classify import Classifier
from .comprehensions import ComprehensionFlattener
from .flatten_expr import ExpressionFlattener, _not
from .names import PREFIX, Temps, iterator_name

# Statements whose evaluation may end in a suspension that stays in place.
_EMBEDDABLE = (ast.Expr, ast.Assign, ast.AugAssign, ast.Return, ast.Raise, ast.Delete, ast.If)


def flatten_function(fn: ast.FunctionDef, trivial_names: Iterable[str], filename: str = "<program>",
                     mode: str = "function", stable: Iterable[str] = (), classifier: Classifier | None = None,
                     temps: Temps | None = None) -> list[ast.stmt]:
    """Return fn's body in A-normal form (fn itself is not modified).

    `trivial_names` are fn's plain locals (not cells); `stable` the module
    names no call can rebind; mode 'function' (pausing calls suspend) or
    'generator' (yields suspend)."""
    flattener = Flattener(trivial_names, filename, mode, stable, classifier, temps or Temps())
    return flattener.block(fn.body)


class Flattener(ComprehensionFlattener, ExpressionFlattener):
    def __init__(self, trivial_names, filename, mode="function", stable=(), classifier=None,
                 temps=None):
        self.trivial_names = set(trivial_names)
        self.filename = filename
        self.mode = mode
        self.stable = set(stable) - self.trivial_names
        self.classifier = classifier
        self.temps = temps or Temps()
        self.rebound = set()   # names a walrus rebinds in the current statement
        self.iterators = set()

    # -- statements ---------------------------------------------------------

    def block(self, stmts):
        out = []
        for s in stmts:
            out.extend(self.stmt(s))
        return out

    def stmt(self, s):
        self.rebound = {n.target.id for n in walk_scope(s) if isinstance(n, ast.NamedExpr)}
        handler = getattr(self, "s_" + type(s).__name__, None)
        if handler is not None:
            out = handler(s)
        elif self.suspends(s):
            self.unsupported(s)
        else:
            out = [s]
        return self._embed_last(out)

    def _embed_last(self, out):
        """`t = call(...); stmt(t)` -> `stmt(call(...))` when `t` is used once,
        where it is evaluated first: saves a temporary on the normal path."""
        if len(out) < 2 or not isinstance(out[-1], _EMBEDDABLE):
            return out
        spill, stmt = out[-2], out[-1]
        if not (isinstance(spill, ast.Assign) and len(spill.targets) == 1
                and isinstance(spill.targets[0], ast.Name) and spill.targets[0].id.startswith(PREFIX)
                and self.is_suspension(spill.value)):
            return out
        name = spill.targets[0].id
        uses = [n for n in _header_walk(stmt) if isinstance(n, ast.Name) and n.id == name]
        total = sum(1 for n in ast.walk(stmt) if isinstance(n, ast.Name) and n.id == name)
        if len(uses) != 1 or total != 1 or not _straight(stmt, uses[0]):
            return out
        replace_node(stmt, uses[0], spill.value)
        return out[:-2] + [stmt]

    def s_Expr(self, s):
        if not self.suspends(s):
            return [s]
        out = []
        out.append(at(ast.Expr(value=self.expr(s.value, out)), s))
        return out

    def s_Assign(self, s):
        if not self.suspends(s):
            return [s]
        out = []
        if not any(self.suspends(t) for t in s.targets):
            out.append(at(ast.Assign(targets=s.targets, value=self.expr(s.value, out)), s))
            return out
        # The value is evaluated before the targets, targets left to right.
        value = self.spill(self.expr(s.value, out), out)
        for target in s.targets:
            out.extend(self.store_into(target, value, s))
        return out

    def store_into(self, target, value, like):
        """Statements that store `value` (trivial) into `target`, whose parts
        may suspend; an unpacking unpacks first, then stores left to right."""
        out = []
        if isinstance(target, (ast.Tuple, ast.List)) and self.suspends(target):
            names = [self.temps.new("u") for _ in target.elts]
            pattern = [at(ast.Starred(value=store(n, e), ctx=ast.Store()), e) if isinstance(e, ast.Starred)
                       else store(n, e) for n, e in zip(names, target.elts)]
            out.append(at(ast.Assign(targets=[at(ast.Tuple(elts=pattern, ctx=ast.Store()), target)],
                                     value=value), like))
            for n, e in zip(names, target.elts):
                part = e.value if isinstance(e, ast.Starred) else e
                out.extend(self.store_into(part, load(n, e), like))
            return out
        out.append(at(ast.Assign(targets=[self.target(target, out)], value=value), like))
        return out

    def s_AnnAssign(self, s):
        if not self.suspends(s):
            return [s]
        if s.value is None:   # `a[f()]: int` evaluates the target's parts only
            out = []
            self.target(s.target, out)
            return out
        # In a function an annotation is never evaluated: a plain assignment.
        return self.s_Assign(at(ast.Assign(targets=[s.target], value=s.value), s))

    def s_AugAssign(self, s):
        if not self.suspends(s):
            return [s]
        out = []
        target = s.target
        if isinstance(target, ast.Name):
            if self.trivial(target):
                # A plain local: the call cannot rebind it, so loading it
                # after the call is the same.
                out.append(at(ast.AugAssign(target=target, op=s.op, value=self.expr(s.value, out)), s))
                return out
            current = self.temp(load(target.id, target), out)
            out.append(at(ast.AugAssign(target=store(current.id, s), op=s.op,
                                        value=self.expr(s.value, out)), s))
            out.append(at(ast.Assign(targets=[store(target.id, target)], value=load(current.id, s)), s))
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
        if not self.suspends(s):
            return [s]
        out = []
        out.append(at(ast.Return(value=self.expr(s.value, out)), s))
        return out

    def s_Raise(self, s):
        if not self.suspends(s):
            return [s]
        out = []
        exc, cause = self.seq([s.exc, s.cause], out)
        out.append(at(ast.Raise(exc=exc, cause=cause), s))
        return out

    def s_Assert(self, s):
        if not self.suspends(s):
            return [s]
        body = []
        test = self.condition(s.test, body)
        if s.msg is not None and self.suspends(s.msg):
            fail = []
            msg = self.expr(s.msg, fail)
            error = at(ast.Call(func=load("AssertionError", s), args=[msg], keywords=[]), s)
            error.kappa_pause = False
            fail.append(at(ast.Raise(exc=error, cause=None), s))
            body.append(at(ast.If(test=_not(test), body=fail, orelse=[]), s))
        else:
            body.append(at(ast.Assert(test=test, msg=s.msg), s))
        # `if __debug__:` keeps the assertion, and its calls, out of `python -O`.
        return [at(ast.If(test=load("__debug__", s), body=body, orelse=[]), s)]

    def s_Delete(self, s):
        if not self.suspends(s):
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
        if not self.suspends(s.test):
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
        target, body = s.target, s.body
        if self.suspends(target):   # `for a[f()] in xs`: store in the body
            name = self.temps.new("u")
            body = self.store_into(target, load(name, target), target) + body
            target = store(name, target)
        if self.block_suspends(body):
            name = iterator_name(s, self.iterators)
            self.iterators.add(name)
            # located from `for` to the end of the iterable: no call has that range
            header = ast.Pass(lineno=s.lineno, col_offset=s.col_offset,
                              end_lineno=s.iter.end_lineno, end_col_offset=s.iter.end_col_offset)
            out.append(assign(name, runtime_call("iter", [iterable], header), s))
            iterable = load(name, s)
        out.append(at(ast.For(target=target, iter=iterable, body=self.block(body),
                              orelse=self.block(s.orelse), type_comment=None), s))
        return out

    def block_suspends(self, stmts):
        return any(self.suspends(n) for s in stmts for n in _statements_and_headers(s))

    def s_With(self, s):
        body_suspends = self.block_suspends(s.body)
        if len(s.items) > 1 and (body_suspends or any(self.suspends(i.context_expr) or
                                                       self.suspends(i.optional_vars) for i in s.items[1:])):
            # `with a, b:` is `with a: with b:` (b is evaluated after a.__enter__)
            # located at the statement, as Python locates the exit call: at
            # the second item it would share a pausing call's position
            inner = at(ast.With(items=s.items[1:], body=s.body, type_comment=None), s)
            return self.s_With(at(ast.With(items=s.items[:1], body=[inner], type_comment=None), s))
        out, items, body = [], [], s.body
        for item in s.items:
            target = item.optional_vars
            if target is not None and self.suspends(target):
                name = self.temps.new("u")
                body = self.store_into(target, load(name, target), target) + body
                target = store(name, target)
            items.append(ast.withitem(context_expr=self.expr(item.context_expr, out), optional_vars=target))
        out.append(at(ast.With(items=items, body=self.block(body), type_comment=None), s))
        return out

    def s_Try(self, s):
        handlers = []
        for h in s.handlers:
            handlers.append(at(ast.ExceptHandler(type=h.type, name=h.name, body=self.block(h.body)), h))
        return [at(type(s)(body=self.block(s.body), handlers=handlers, orelse=self.block(s.orelse),
                           finalbody=self.block(s.finalbody)), s)]

    s_TryStar = s_Try

    def s_Match(self, s):
        out = []
        subject = self.expr(s.subject, out)
        guarded = [i for i, c in enumerate(s.cases) if c.guard is not None and self.suspends(c.guard)]
        if not guarded:
            cases = [at(ast.match_case(pattern=c.pattern, guard=c.guard, body=self.block(c.body)), c.pattern)
                     for c in s.cases]
            out.append(at(ast.Match(subject=subject, cases=cases), s))
            return out
        # A guard that pauses is evaluated in the case body; if it fails,
        # the remaining cases are tried by a second match statement.
        subject = self.spill(subject, out)
        k = guarded[0]
        flag = self.temps.new("m")
        out.append(assign(flag, at(ast.Constant(True), s), s))
        matched = assign(flag, at(ast.Constant(False), s), s)
        first = []
        for c in s.cases[:k]:
            first.append(at(ast.match_case(pattern=c.pattern, guard=c.guard, body=[clone(matched)] + c.body),
                            c.pattern))
        case = s.cases[k]
        passed = at(ast.If(test=case.guard, body=[clone(matched)] + case.body, orelse=[]), case.guard)
        first.append(at(ast.match_case(pattern=case.pattern, guard=None, body=[passed]), case.pattern))
        out.extend(self.s_Match(at(ast.Match(subject=clone(subject), cases=first), s)))
        if s.cases[k + 1:]:
            rest = at(ast.Match(subject=clone(subject), cases=s.cases[k + 1:]), s.cases[k + 1].pattern)
            out.append(at(ast.If(test=load(flag, s), body=[rest], orelse=[]), s))
            out[-1].body = self.block(out[-1].body)
        return out

    def s_FunctionDef(self, s):
        a = s.args
        applied = self.pausing_decorators(s)
        parts = s.decorator_list + a.defaults + a.kw_defaults
        if not applied and not any(self.suspends(p) for p in parts if p is not None):
            return [s]
        out = []
        values = self.seq(parts, out)
        n, m = len(s.decorator_list), len(a.defaults)
        s.decorator_list, a.defaults, a.kw_defaults = values[:n], values[n:n + m], values[n + m:]
        return out + self.decorate_after(s, applied)

    def s_ClassDef(self, s):
        applied = self.pausing_decorators(s)
        parts = s.decorator_list + s.bases + [k.value for k in s.keywords]
        if not applied and not any(self.suspends(p) for p in parts):
            return [s]
        out = []
        values = self.seq(parts, out)
        n, m = len(s.decorator_list), len(s.bases)
        s.decorator_list, s.bases = values[:n], values[n:n + m]
        for k, v in zip(s.keywords, values[n + m:]):
            k.value = v
        return out + self.decorate_after(s, applied)

    # -- decorators ---------------------------------------------------------
    # Applying a decorator is a call the interpreter makes itself, located at
    # the decorator expression: it cannot be a pause point. When one may
    # reach program code, `@d def f` becomes `def f; f = d(f)` (d evaluated
    # before the def, as Python does), so the application is a call site.
    # The only difference: while d runs, `f` names the undecorated function.

    def pausing_decorators(self, s):
        """[(decorator, its application may pause)], or [] if none may."""
        if self.mode != "function" or not s.decorator_list:
            return []
        marks = [self.application_pauses(d) for d in s.decorator_list]
        return marks if any(marks) else []

    def application_pauses(self, decorator):
        if self.classifier is None:
            return True
        if isinstance(decorator, ast.Call):
            # what a library's factory returns is the library's (functools.wraps(f))
            return is_pausing_call(decorator)
        return self.classifier.pauses(ast.Call(func=decorator, args=[], keywords=[]))

    def decorate_after(self, s, applied):
        """The def/class without decorators, then the applications as calls."""
        if not applied:
            return [s]
        out = []
        decorators = [self._stable_decorator(d, s.name, out) for d in s.decorator_list]
        s.decorator_list = []
        out.append(s)
        value = load(s.name, s)
        for decorator, pauses in zip(reversed(decorators), reversed(applied)):
            value = at(ast.Call(func=decorator, args=[value], keywords=[]), decorator)
            value.kappa_pause = pauses
        out.extend(self.s_Assign(at(ast.Assign(targets=[store(s.name, s)], value=value), s)))
        return out

    def _stable_decorator(self, decorator, name, out):
        """The decorator's value, evaluated now (the def may rebind its name)."""
        if isinstance(decorator, ast.Name) and decorator.id == name:
            return self.temp(decorator, out)
        return self.spill(decorator, out)

    # -- targets ------------------------------------------------------------

    def target(self, t, out):
        """Flatten the parts of an assignment/del target (evaluated at store time)."""
        if not self.suspends(t):
            return t
        if isinstance(t, ast.Subscript):
            value, index = self.seq([t.value, t.slice], out)
            return at(ast.Subscript(value=value, slice=index, ctx=t.ctx), t)
        if isinstance(t, ast.Attribute):
            return at(ast.Attribute(value=self.expr(t.value, out), attr=t.attr, ctx=t.ctx), t)
        if isinstance(t, ast.Starred):
            return at(ast.Starred(value=self.target(t.value, out), ctx=t.ctx), t)
        self.unsupported(t)

    def stable_index(self, index, out):
        """An index that can be evaluated twice (load and store) with no effect."""
        if isinstance(index, ast.Slice):
            parts = [self.spill(self.expr(p, out), out) for p in (index.lower, index.upper, index.step)]
            return at(ast.Slice(lower=parts[0], upper=parts[1], step=parts[2]), index)
        return self.spill(self.expr(index, out), out)


def _statements_and_headers(stmt):
    """A statement's own expressions and those of every statement nested in it."""
    for s in all_statements([stmt]):
        yield from header_nodes(s)


def _header_walk(stmt):
    """Nodes a statement evaluates itself (an if: its test only)."""
    roots = [stmt.test] if isinstance(stmt, ast.If) else [stmt]
    for root in roots:
        yield from walk_scope(root)


# Fields evaluated only sometimes (or later, in another scope).
_LAZY = {ast.BoolOp: lambda n, c: c is not n.values[0],
         ast.IfExp: lambda n, c: c is not n.test,
         ast.Compare: lambda n, c: c is not n.left and c is not n.comparators[0]}


def _straight(stmt, target):
    """True if `target` is reached from `stmt` through eagerly evaluated
    fields only (not a lazy operand, not inside a nested scope)."""
    path = _path(stmt.test if isinstance(stmt, ast.If) else stmt, target)
    if path is None:
        return False
    for parent, child in zip(path, path[1:]):
        lazy = _LAZY.get(type(parent))
        if lazy is not None and lazy(parent, child):
            return False
        if isinstance(parent, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            return False
    return True


def _path(root, target):
    if root is target:
        return [root]
    for child in ast.iter_child_nodes(root):
        sub = _path(child, target)
        if sub is not None:
            return [root] + sub
    return None
