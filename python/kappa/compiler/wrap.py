"""Pass 7: wrap pause points so a capture records the frame.

    try:
        t = call(...)
    except __kappa__.Capture as __k_cap:
        __k_cap.push(__k_pp['f:3'], __kappa__.locals())
        raise

A try block costs nothing on the normal path in CPython 3.11. Every compiled
function also starts with the automatic pause check (pause point 0):

    if __k_pending:
        <wrapped __kappa__.auto_pause()>

(`__k_pending` is the program's copy of the runtime's `pending` flag: one
global load per call.) Generated code reaches builtins through `__kappa__` (`__kappa__.locals`,
`__kappa__.iter`) so a program that shadows them still works.
"""

import ast

from .astutil import CAPTURE_VAR, PENDING, REGISTRY, RUNTIME, at, is_docstring, load, store


def _runtime(attr, like=None):
    node = ast.Attribute(value=ast.Name(id=RUNTIME, ctx=ast.Load()), attr=attr, ctx=ast.Load())
    return node if like is None else at(node, like)


def _name(name):
    return ast.Name(id=name, ctx=ast.Load())


def wrap_statement(stmt, pp):
    """The try/except that records pause point `pp` when a Capture passes.

    Built without locations, then located in one pass (this runs once per
    pause statement of every continuation)."""
    push = ast.Call(
        func=ast.Attribute(value=_name(CAPTURE_VAR), attr="push", ctx=ast.Load()),
        args=[ast.Subscript(value=_name(REGISTRY), slice=ast.Constant(pp), ctx=ast.Load()),
              ast.Call(func=_runtime("locals"), args=[], keywords=[])],
        keywords=[])
    handler = ast.ExceptHandler(type=_runtime("Capture"), name=CAPTURE_VAR,
                                body=[ast.Expr(value=push), ast.Raise()])
    return at(ast.Try(body=[stmt], handlers=[handler], orelse=[], finalbody=[]), stmt)


def wrap_block(stmts):
    """Wrap every pause statement (marked `kappa_pp`) in `stmts`, recursively."""
    out = []
    for stmt in stmts:
        pp = getattr(stmt, "kappa_pp", None)
        if pp is not None:
            out.append(wrap_statement(stmt, pp))
            continue
        if isinstance(stmt, (ast.If, ast.For, ast.While)):
            stmt.body = wrap_block(stmt.body)
            stmt.orelse = wrap_block(stmt.orelse)
        out.append(stmt)
    return out


def entry_check(fn, pp):
    """`if __k_pending: <wrapped auto_pause()>`, located at the `def` keyword
    (a range no call in the program has)."""
    where = ast.Pass(lineno=fn.lineno, col_offset=fn.col_offset, end_lineno=fn.lineno,
                     end_col_offset=fn.col_offset + 3)
    call = at(ast.Expr(value=ast.Call(func=_runtime("auto_pause"), args=[], keywords=[])), where)
    return at(ast.If(test=_name(PENDING), body=[wrap_statement(call, pp)], orelse=[]), where)


def with_entry_check(fn, body, pp):
    """`body` with the entry check first (after the docstring, which must stay first)."""
    check = entry_check(fn, pp)
    if body and is_docstring(body[0]):
        return [body[0], check] + body[1:]
    return [check] + body


def registration(site, cont_name, live, filename_like):
    """`__k_pp['f:3'] = __kappa__.PausePoint('f:3', 'f', ('x',), __k_c_f_3, 12)`."""
    like = filename_like
    value = at(ast.Call(func=_runtime("PausePoint", like), args=[
        ast.Constant(site.id), ast.Constant(site.function),
        at(ast.Tuple(elts=[ast.Constant(v) for v in sorted(live)], ctx=ast.Load()), like),
        load(cont_name, like), ast.Constant(site.line)], keywords=[]), like)
    target = at(ast.Subscript(value=load(REGISTRY, like), slice=ast.Constant(site.id), ctx=ast.Store()), like)
    return at(ast.Assign(targets=[target], value=value), like)


def registry_init(like):
    return at(ast.Assign(targets=[store(REGISTRY, like)], value=at(ast.Dict(keys=[], values=[]), like)), like)
