"""Wrapping compiled functions so a capture records their frame (the emit
stage wraps them).

    def f(a):
        try:
            if __k_pending__:
                __kappa__.auto_pause()            # pause point f:0
            <body>
        except __kappa__.Capture as __k_cap__:
            __k_cap__.record(__kappa__.locals(), lambda: (cell, ...))
            raise

One handler per function (and per continuation): `record` finds which
pause point the frame is stopped at from the traceback (every pausing call
has its own source position), so the normal path pays for no try block
per call. A try block costs nothing in CPython 3.11 until something is
raised; the entry check is one global load (`__k_pending__` is the
program's copy of the runtime's pending flag). The lambda hands over the
frame's cells (its variables shared with closures), only when it has any.

Continuations of a function with cells are built inside a factory that
binds those names, so they can be rebuilt at resume time around the saved
cells (`types.FunctionType(code, globals, name, None, cells)`).
"""

import ast

from .ast_builders import assign, at, keyword_range, load, runtime_attr, runtime_call, store
from .ast_queries import is_docstring
from .names import CAPTURE_VAR, CELLS_VAR, PENDING, REGISTRY, generated


def _closure_lambda(names, like):
    args = ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None,
                         defaults=[])
    elts = [load(n, like) for n in names]
    return at(ast.Lambda(args=args, body=at(ast.Tuple(elts=elts, ctx=ast.Load()), like)), like)


def capture_handler(closure, like):
    """`except Capture as __k_cap__: __k_cap__.record(locals(), cells); raise`."""
    cells = _closure_lambda(closure, like) if closure else at(ast.Constant(None), like)
    record = at(ast.Call(func=at(ast.Attribute(value=load(CAPTURE_VAR, like), attr="record", ctx=ast.Load()),
                                 like),
                         args=[runtime_call("locals", [], like), cells], keywords=[]), like)
    record.kappa_pause = False
    return at(ast.ExceptHandler(type=runtime_attr("Capture", like), name=CAPTURE_VAR,
                                body=[at(ast.Expr(value=record), like), at(ast.Raise(), like)]), like)


def entry_check(fn):
    """`if __k_pending__: __kappa__.auto_pause()`, located at the `def`
    keyword (a range no call in the program has)."""
    where = entry_position(fn)
    call = at(ast.Expr(value=runtime_call("auto_pause", [], where)), where)
    return at(ast.If(test=load(PENDING, where), body=[call], orelse=[]), where)


def entry_position(fn):
    return keyword_range(fn, 3)


def split_docstring(body):
    if body and is_docstring(body[0]):
        return body[:1], body[1:]
    return [], body


def wrap_function(fn, closure, auto_pauses=True):
    """Entry check (unless automatic pauses are off) and capture handler
    around a compiled function's body."""
    doc, body = split_docstring(fn.body)
    where = entry_position(fn)
    check = [entry_check(fn)] if auto_pauses else []
    body = check + (body or [at(ast.Pass(), where)])
    guarded = at(ast.Try(body=body, handlers=[capture_handler(closure, where)],
                         orelse=[], finalbody=[]), where)
    fn.body = doc + [guarded]


def wrap_continuation(rest, closure, like):
    """The capture handler around a continuation's code."""
    return [at(ast.Try(body=rest, handlers=[capture_handler(closure, like)], orelse=[], finalbody=[]), like)]


def cells_prelude(closure, like):
    """A generator's cells, kept where pickling finds them (gi_frame.f_locals)."""
    return [assign(CELLS_VAR, _closure_lambda(closure, like), like)] if closure else []


def add_generator_prelude(fn, closure):
    doc, body = split_docstring(fn.body)
    fn.body = doc + cells_prelude(closure, fn) + body


def declarations(globals_, closure, like):
    out = []
    if globals_:
        out.append(at(ast.Global(names=sorted(globals_)), like))
    if closure:
        out.append(at(ast.Nonlocal(names=sorted(closure)), like))
    return out


def factory(name, closure, continuations, like):
    """def name(): <bind the closure names>; <continuations>; return (...)"""
    binds = [assign(n, at(ast.Constant(None), like), like) for n in sorted(closure)]
    result = at(ast.Return(value=at(ast.Tuple(elts=[load(c.name, like) for c in continuations], ctx=ast.Load()),
                                     like)), like)
    args = ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None,
                         defaults=[])
    return at(ast.FunctionDef(name=name, args=args, body=binds + list(continuations) + [result],
                              decorator_list=[], returns=None, type_comment=None), like)


def factory_name(key):
    return generated("mk_" + "".join(c if c.isalnum() else "_" for c in key))


def registration(continuations, specs, like):
    """`__kappa__.register(__k_pp, (c0, c1, ...), ((id, function, live, ...), ...))`;
    `continuations` is an expression giving the tuple of continuation functions."""
    return at(ast.Expr(value=runtime_call("register", [load(REGISTRY, like), continuations,
                                                       at(ast.Constant(specs), like)], like)), like)


def registry_init(like: ast.AST) -> ast.Assign:
    return at(ast.Assign(targets=[store(REGISTRY, like)], value=at(ast.Dict(keys=[], values=[]), like)), like)
