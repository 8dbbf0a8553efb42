"""Pass 6: one continuation function per pause point.

The continuation of pause point p of function f is a module-level function

    def __k_c_f_3(__k_vars, __k_value, __k_exc):
        if 'x' in __k_vars: x = __k_vars['x']      # the live variables of p
        if __k_exc is not None: raise __k_exc       # the call raised
        t = __k_value                               # the call returned
        <the rest of f after p>

"The rest of f" is built from the innermost block outward: the rest of the
block; after an if branch, the statements after the if; inside a loop body,
the rest of this iteration, then the loop statement itself again (a while
re-tests its condition; a for goes on with the same named iterator), then
the statements after the loop. When the partial iteration contains a
break/continue of that loop, it runs inside a single-iteration for loop
whose else clause is the loop again: continue ends the partial iteration
and goes on looping, break skips the loop and its else clause.

Continuations are built from the flattened, not yet wrapped body; their
pause statements keep the original ids (`kappa_pp`), so a capture inside a
continuation looks exactly like one inside f.
"""

import ast

from .astutil import (EXC_PARAM, ONCE_VAR, PREFIX, VALUE_PARAM, VARS_PARAM, assign,
                      at, clone, is_docstring, load, loop_exits, pause_call_of, store)


def continuation_name(key, n):
    safe = key.replace("@", "_at")
    return f"{PREFIX}c_{safe}_{n}"


def rest_after(path):
    """Statements that run the rest of the function after the statement at
    the end of `path`, a list of (block, index) from the function body in."""
    block, index = path[-1]
    code = clone(block[index + 1:])
    for depth in range(len(path) - 1, 0, -1):
        outer_block, outer_index = path[depth - 1]
        owner = outer_block[outer_index]
        after = clone(outer_block[outer_index + 1:])
        in_loop_body = isinstance(owner, (ast.For, ast.While)) and path[depth][0] is owner.body
        if not in_loop_body:
            # an if branch or a loop's else clause: just continue after it
            code = code + after
            continue
        again = clone(owner)
        if loop_exits(code):
            once = at(ast.For(target=store(ONCE_VAR, owner),
                              iter=at(ast.Tuple(elts=[ast.Constant(0)], ctx=ast.Load()), owner),
                              body=code, orelse=[again], type_comment=None), owner)
            code = [once] + after
        else:
            code = code + [again] + after
    return code


def find_paths(body):
    """{pause id: path} for every pause statement of a flattened body."""
    paths = {}

    def visit(block, prefix):
        for i, stmt in enumerate(block):
            here = prefix + [(block, i)]
            pp = getattr(stmt, "kappa_pp", None)
            if pp is not None:
                paths[pp] = here
            if isinstance(stmt, (ast.If, ast.For, ast.While)):
                visit(stmt.body, here)
                visit(stmt.orelse, here)

    visit(body, [])
    return paths


def make_continuation(fn, name, live, target, rest, like):
    """The continuation function: restore `live`, deliver the call's outcome
    to `target`, run `rest`. `like` gives the location (the pausing call)."""
    body = []
    for var in sorted(live):
        restore = at(ast.If(
            test=at(ast.Compare(left=ast.Constant(var), ops=[ast.In()],
                                comparators=[load(VARS_PARAM, like)]), like),
            body=[assign(var, at(ast.Subscript(value=load(VARS_PARAM, like),
                                               slice=ast.Constant(var), ctx=ast.Load()), like), like)],
            orelse=[]), like)
        body.append(restore)
    raised = at(ast.Compare(left=load(EXC_PARAM, like), ops=[ast.IsNot()],
                            comparators=[ast.Constant(None)]), like)
    body.append(at(ast.If(test=raised, body=[at(ast.Raise(exc=load(EXC_PARAM, like), cause=None), like)],
                          orelse=[]), like))
    if target is not None:
        body.append(assign(target, load(VALUE_PARAM, like), like))
    body.extend(rest)
    args = ast.arguments(posonlyargs=[], args=[ast.arg(arg=a) for a in (VARS_PARAM, VALUE_PARAM, EXC_PARAM)],
                         vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])
    return at(ast.FunctionDef(name=name, args=args, body=body, decorator_list=[],
                              returns=None, type_comment=None), fn)


def continuations(fn, key, sites, live):
    """One continuation FunctionDef per pause site of the flattened `fn`.

    `sites` come from pausepoints.number_pause_points (entry first);
    `live` maps pause id -> live names. Returns [(site, FunctionDef)].
    """
    paths = find_paths(fn.body)
    out = []
    for n, site in enumerate(sites):
        if site.stmt is None:   # the entry: the whole body
            body = fn.body[1:] if fn.body and is_docstring(fn.body[0]) else fn.body
            rest, like = clone(body), fn
        else:
            rest, like = rest_after(paths[site.id]), pause_call_of(site.stmt)
        cont = make_continuation(fn, continuation_name(key, n), live[site.id], site.target, rest, like)
        out.append((site, cont))
    return out
