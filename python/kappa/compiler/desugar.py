"""The desugar stage (after flatten): try and with statements that contain
a suspension, rewritten so that a capture passes through them without
running user code, and so that a continuation can resume inside them.

A `with` whose body suspends becomes (PEP 343, manager and exit method in
named locals, so they are live state):

    __k_mgr1__ = EXPR
    __k_exit2__, TARGET = __kappa__.enter_with(__k_mgr1__)
    __k_w3__ = None
    try:
        BODY
    except __kappa__.Capture:                 # pass through, no __exit__
        __k_w3__ = True; raise
    except BaseException as __k_e4__:
        __k_w3__ = True
        if not __k_exit2__(__k_mgr1__, type(e), e, e.__traceback__): raise
    finally:
        if __k_w3__ is None: __k_exit2__(__k_mgr1__, None, None, None)

A `try` that suspends is split in two layers: the handlers (first handler
`except Capture: raise`, so no user handler sees a capture; a handler whose
body suspends gets a name, so a continuation can re-raise the exception it
handles), then the finally block, guarded so that a capture skips it. If
the finally block itself suspends, the state it started in (an exception,
a return value, a break or continue) is kept in `__k_wN__`; its
continuation finishes the block and then does what the try would have done
(`kappa_dispatch` on the layer).

Generators get the same shapes without the capture handlers (a generator
body never pauses; yields are its suspensions).
"""

import ast

from .ast_builders import assign, at, load, plain_call, runtime_attr, runtime_call, store, transparent_raise
from .ast_queries import (
    LOOPS,
    SCOPES,
    all_statements,
    child_blocks,
    header_nodes,
    is_pausing_call,
    is_yield,
    walk_scope,
)
from .names import RETURN_VAR, Temps

_CAUGHT_SAFELY = {"Exception", "ArithmeticError", "LookupError", "ValueError", "TypeError", "KeyError",
                  "IndexError", "ZeroDivisionError", "AttributeError", "NameError", "RuntimeError",
                  "OSError", "StopIteration", "AssertionError", "NotImplementedError", "OverflowError",
                  "UnicodeError", "FileNotFoundError", "RecursionError", "ImportError", "EOFError"}


def _is(name, marker, like):
    """`name is marker` (marker: None, True or a runtime attribute name)."""
    right = at(ast.Constant(marker), like) if marker in (None, True) else runtime_attr(marker, like)
    return at(ast.Compare(left=load(name, like), ops=[ast.Is()], comparators=[right]), like)


def _is_not(name, marker, like):
    test = _is(name, marker, like)
    test.ops = [ast.IsNot()]
    return test


def _handler(type_, name, body, like):
    return at(ast.ExceptHandler(type=type_, name=name, body=body), like)


class Desugar:
    def __init__(self, mode, temps):
        self.mode = mode
        self.temps = temps

    def suspends(self, stmts):
        check = is_yield if self.mode == "generator" else is_pausing_call
        return any(check(n) for s in all_statements(stmts) for root in header_nodes(s)
                   for n in walk_scope(root))

    def block(self, stmts):
        out = []
        for s in stmts:
            out.extend(self.stmt(s))
        return out

    def stmt(self, s):
        if isinstance(s, SCOPES):
            return [s]
        if isinstance(s, (ast.Try, ast.TryStar)):
            s.body, s.orelse, s.finalbody = self.block(s.body), self.block(s.orelse), self.block(s.finalbody)
            for h in s.handlers:
                h.body = self.block(h.body)
            return self.try_(s)
        for block in child_blocks(s):
            block[:] = self.block(block)
        if isinstance(s, ast.With) and self.suspends(s.body):
            return self.with_(s)
        return [s]

    def capture_guard(self, flag=None):
        """`except __kappa__.Capture: [flag = True;] raise`: no user code sees a capture."""
        like = ast.Pass(lineno=1, col_offset=0, end_lineno=1, end_col_offset=0)
        body = ([assign(flag, at(ast.Constant(True), like), like)] if flag else []) + [at(ast.Raise(), like)]
        return _handler(runtime_attr("Capture", like), None, body, like)

    # -- with ---------------------------------------------------------------------------

    def with_(self, s):
        item = s.items[0]
        like = s   # the `with` statement: no call has its range
        mgr, exit_, flag, exc, value = (self.temps.new(k) for k in ("mgr", "exit", "w", "e", "v"))
        out = [assign(mgr, item.context_expr, item.context_expr)]
        out.append(at(ast.Assign(targets=[at(ast.Tuple(elts=[store(exit_, like), store(value, like)],
                                                        ctx=ast.Store()), like)],
                                 value=runtime_call("enter_with", [load(mgr, like)], like)), like))
        if item.optional_vars is not None:
            out.append(at(ast.Assign(targets=[item.optional_vars], value=load(value, like)), like))
        out.append(assign(flag, at(ast.Constant(None), like), like))
        details = [runtime_call("type", [load(exc, like)], like), load(exc, like),
                   at(ast.Attribute(value=load(exc, like), attr="__traceback__", ctx=ast.Load()), like)]
        suppressed = plain_call(load(exit_, like), [load(mgr, like)] + details, like)
        on_error = [assign(flag, at(ast.Constant(True), like), like)]
        if self.mode == "generator":
            on_error.append(at(ast.If(test=_abandoned(like), body=[at(ast.Raise(), like)], orelse=[]), like))
        on_error.append(at(ast.If(test=at(ast.UnaryOp(op=ast.Not(), operand=suppressed), like),
                                  body=[at(ast.Raise(), like)], orelse=[]), like))
        handlers = [self.capture_guard(flag)] if self.mode == "function" else []
        handlers.append(_handler(runtime_attr("BaseException", like), exc, on_error, like))
        none = [at(ast.Constant(None), like) for _ in range(3)]
        normal = at(ast.Expr(value=plain_call(load(exit_, like), [load(mgr, like)] + none, like)), like)
        final = [at(ast.If(test=_is(flag, None, like), body=[normal], orelse=[]), like)]
        out.append(at(ast.Try(body=s.body, handlers=handlers, orelse=[], finalbody=final), s))
        out[-1].kappa_flag = flag
        return out

    # -- try ----------------------------------------------------------------------------

    def try_(self, s):
        body_suspends = self.suspends(s.body) or self.suspends(s.orelse) or \
            any(self.suspends(h.body) for h in s.handlers)
        final_suspends = self.suspends(s.finalbody)
        if not (body_suspends or final_suspends):
            if self.mode == "function" and s.handlers and _may_catch_capture(s):
                s.handlers.insert(0, self.capture_guard())
            return [s]
        for h in s.handlers:
            if self.suspends(h.body):
                self._name_handler(h)
        if s.handlers:
            handlers = ([self.capture_guard()] if self.mode == "function" else []) + s.handlers
            inner = at(type(s)(body=s.body, handlers=handlers, orelse=s.orelse, finalbody=[]), s)
            if not s.finalbody:
                return [inner]
            core = [inner]
        else:
            core = s.body
        return self._finally_layer(s, core, final_suspends)

    def _name_handler(self, h):
        """A handler whose body suspends keeps the exception it handles in a
        plain local (Python deletes the `as` name when a capture leaves the
        handler): the continuation re-raises it into a handler of the same
        name."""
        if h.type is None:
            h.type = runtime_attr("BaseException", h)   # bare except: after the capture guard, the same
        if h.name is None:
            h.name = self.temps.new("x")
        h.kappa_hold = self.temps.new("h")
        h.body.insert(0, assign(h.kappa_hold, load(h.name, h), h))

    def _finally_layer(self, s, core, final_suspends):
        like = s.finalbody[0]
        flag = self.temps.new("w")
        handlers = [self.capture_guard(flag)] if self.mode == "function" else []
        kinds = set()
        if final_suspends:
            exc = self.temps.new("e")
            handlers.append(_handler(runtime_attr("BaseException", like), exc,
                                     [assign(flag, load(exc, like), like), at(ast.Raise(), like)], like))
            core = self._record_jumps(core, flag, kinds, False)
        final = s.finalbody
        if self.mode == "function":
            final = [at(ast.If(test=_is_not(flag, True, like), body=final, orelse=[]), like)]
        else:   # a generator left behind by a checkpoint does not clean up when collected
            final = [at(ast.If(test=runtime_call("alive", [], like), body=final, orelse=[]), like)]
        outer = at(ast.Try(body=core, handlers=handlers, orelse=[], finalbody=final), s)
        outer.kappa_flag = flag
        if final_suspends:
            outer.kappa_dispatch = self._dispatch(flag, kinds, like)
        return [assign(flag, at(ast.Constant(None), s), s), outer]

    def _record_jumps(self, stmts, flag, kinds, in_loop):
        """Before each return/break/continue that leaves the try, record why
        the finally block runs."""
        out = []
        for s in stmts:
            if isinstance(s, ast.Return):
                kinds.add("RETURN")
                value = s.value if s.value is not None else at(ast.Constant(None), s)
                if not (isinstance(value, ast.Name) and value.id == RETURN_VAR):
                    out.append(assign(RETURN_VAR, value, s))
                out += [assign(flag, runtime_attr("RETURN", s), s), at(ast.Return(value=load(RETURN_VAR, s)), s)]
                continue
            if isinstance(s, (ast.Break, ast.Continue)) and not in_loop:
                kind = "BREAK" if isinstance(s, ast.Break) else "CONTINUE"
                kinds.add(kind)
                out += [assign(flag, runtime_attr(kind, s), s), s]
                continue
            if isinstance(s, LOOPS):
                s.body = self._record_jumps(s.body, flag, kinds, True)
                s.orelse = self._record_jumps(s.orelse, flag, kinds, in_loop)
            elif not isinstance(s, SCOPES):
                for h in getattr(s, "handlers", []):
                    h.body = self._record_jumps(h.body, flag, kinds, in_loop)
                for name in ("body", "orelse", "finalbody"):
                    if isinstance(getattr(s, name, None), list):
                        setattr(s, name, self._record_jumps(getattr(s, name), flag, kinds, in_loop))
                for case in getattr(s, "cases", []):
                    case.body = self._record_jumps(case.body, flag, kinds, in_loop)
            out.append(s)
        return out

    def _dispatch(self, flag, kinds, like):
        """What a continuation does after finishing the finally block."""
        out = []
        if "RETURN" in kinds:
            out.append(at(ast.If(test=_is(flag, "RETURN", like), body=[at(ast.Return(value=load(RETURN_VAR, like)),
                                                                            like)], orelse=[]), like))
        for kind, jump in (("BREAK", ast.Break), ("CONTINUE", ast.Continue)):
            if kind in kinds:
                out.append(at(ast.If(test=_is(flag, kind, like), body=[at(jump(), like)], orelse=[]), like))
        out.append(at(ast.If(test=_is_not(flag, None, like), body=[transparent_raise(flag, like)], orelse=[]),
                      like))
        return out


def _abandoned(like):
    return at(ast.UnaryOp(op=ast.Not(), operand=runtime_call("alive", [], like)), like)


def _may_catch_capture(s):
    """True if a handler could catch a Capture (a BaseException)."""
    for h in s.handlers:
        types = h.type.elts if isinstance(h.type, ast.Tuple) else [h.type]
        if any(not (isinstance(t, ast.Name) and t.id in _CAUGHT_SAFELY) for t in types):
            return True
    return False


def desugar_body(stmts: list[ast.stmt], mode: str, temps: Temps) -> list[ast.stmt]:
    return Desugar(mode, temps).block(stmts)
