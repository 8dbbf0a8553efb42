"""One continuation per suspension point (the emit stage makes them).

The continuation of pause point p of a function f is a function

    def __k_c_f_3__(__k_vars__, __k_value__, __k_exc__):
        if 'x' in __k_vars__: x = __k_vars__['x']   # the live variables of p
        <the rest of f after p>

"The rest of f" is built from the innermost block outward. Innermost: the
call's outcome (`raise __k_exc__` if it raised), then p's statement again
with `__k_value__` in place of the call, then the rest of the block. Then
for each statement around it: after an if branch or a match case, the
statements after it; inside a loop body, the loop statement itself again
(a while re-tests its condition; a for goes on with the same named
iterator), then the statements after the loop; inside a try body, the same
try statement around the rest; inside an except handler, the exception
re-raised into a handler of the same name; inside a finally block, the rest
of the block, then what the try was doing (return, break, continue, raise).
When the partial iteration contains a break/continue of that loop, it runs
inside a single-iteration for loop whose else clause is the loop again:
continue ends the partial iteration and goes on looping, break skips the
loop and its else clause.

The continuation of a yield in a generator is a generator: it restores the
live variables, stops at a yield in the yield's place (restoring a
checkpoint primes it up to there) and goes on with what it is sent.
"""

import ast

from .ast_builders import assign, at, clone, drop_own_entry, load, replace_node, runtime_attr, runtime_call, store
from .ast_queries import LOOPS, is_docstring, loop_exits
from .names import EXC_PARAM, ONCE_VAR, SENT_VAR, SUB_VAR, VALUE_PARAM, VARS_PARAM, generated


def continuation_name(key, n):
    safe = "".join(c if c.isalnum() else "_" for c in key)
    return generated(f"c_{safe}_{n}")


def find_paths(body):
    """{pause id: path} for every suspension statement of a body; a path is
    a list of (block, index) from the function body in."""
    paths = {}

    def visit(block, prefix):
        for i, stmt in enumerate(block):
            here = prefix + [(block, i)]
            pp = getattr(stmt, "kappa_pp", None)
            if pp is not None:
                paths[pp] = here
            for inner in _blocks(stmt):
                visit(inner, here)

    visit(body, [])
    return paths


def _blocks(stmt):
    if isinstance(stmt, (ast.If, ast.For, ast.While)):
        return [stmt.body, stmt.orelse]
    if isinstance(stmt, (ast.Try, ast.TryStar)):
        return [stmt.body] + [h.body for h in stmt.handlers] + [stmt.orelse, stmt.finalbody]
    if isinstance(stmt, ast.Match):
        return [c.body for c in stmt.cases]
    return []   # a with statement around a suspension was desugared into a try


def rest_after(path, first):
    """Statements that run `first` (the resumed statement) and then the rest
    of the function after the statement at the end of `path`."""
    block, index = path[-1]
    code = first + clone(block[index + 1:])
    for depth in range(len(path) - 1, 0, -1):
        outer_block, outer_index = path[depth - 1]
        owner = outer_block[outer_index]
        code = _around(owner, path[depth][0], code) + clone(outer_block[outer_index + 1:])
    return code


def _around(owner, inner, code):
    """`code` resumed inside block `inner` of statement `owner`, up to the
    end of `owner`."""
    if isinstance(owner, LOOPS) and inner is owner.body:
        again = clone(owner)
        if loop_exits(code):
            once = at(ast.For(target=store(ONCE_VAR, owner),
                              iter=at(ast.Tuple(elts=[ast.Constant(0)], ctx=ast.Load()), owner),
                              body=code, orelse=[again], type_comment=None), owner)
            return [once]
        return code + [again]
    if isinstance(owner, (ast.Try, ast.TryStar)):
        if inner is owner.body:
            again = [at(type(owner)(body=code, handlers=clone(owner.handlers), orelse=clone(owner.orelse),
                                    finalbody=clone(owner.finalbody)), owner)]
            flag = getattr(owner, "kappa_flag", None)   # the capture marked it: running again
            return ([assign(flag, at(ast.Constant(None), owner), owner)] if flag else []) + again
        if inner is owner.finalbody:
            return code + clone(getattr(owner, "kappa_dispatch", []))
        for h in owner.handlers:
            if inner is h.body:
                return [_resumed_handler(h, code)]
        return code   # the else clause: not covered by the handlers
    return code   # an if branch, a loop's else clause, a match case


def _resumed_handler(h, code):
    """try: raise <exc> / except BaseException as <name>: <code>: the rest of
    the handler runs while its exception is being handled, as before."""
    held = getattr(h, "kappa_hold", h.name)
    raised = at(ast.Raise(exc=load(held, h), cause=None), h)
    handler = at(ast.ExceptHandler(type=runtime_attr("BaseException", h), name=h.name,
                                   body=[drop_own_entry(held, h)] + code), h)
    return at(ast.Try(body=[raised], handlers=[handler], orelse=[], finalbody=[]), h)


def _here(stmt):
    """The node marked `kappa_here` in (a clone of) a suspension statement:
    of an `if`, in its test (a suspension in its branches is marked too)."""
    root = stmt.test if isinstance(stmt, ast.If) else stmt
    return next(n for n in ast.walk(root) if getattr(n, "kappa_here", False))


def resumed(site, mode):
    """The first statements of a continuation: the suspension's outcome
    delivered in its place."""
    stmt = clone(site.stmt)
    node = _here(stmt)
    if mode == "function":
        replace_node(stmt, node, load(VALUE_PARAM, node))
        return [_raise_if_exc(node), stmt]
    prime = at(ast.Yield(value=None), node)
    if site.kind == "yield":
        replace_node(stmt, node, load(SENT_VAR, node))
        return [assign(SENT_VAR, prime, node), stmt]
    # yield from: the first step goes to the same iterator, with what was sent or thrown
    first, thrown = generated("first"), generated("thrown")
    sent = [assign(SENT_VAR, prime, node),
            assign(first, at(ast.Tuple(elts=[load(SENT_VAR, node), ast.Constant(None)], ctx=ast.Load()),
                             node), node)]
    catch = at(ast.ExceptHandler(type=runtime_attr("BaseException", node), name=thrown,
                                 body=[assign(first, at(ast.Tuple(elts=[ast.Constant(None), load(thrown, node)],
                                                                  ctx=ast.Load()), node), node)]), node)
    delegate = at(ast.YieldFrom(value=runtime_call("Delegate", [load(SUB_VAR, node), load(first, node)], node)),
                  node)
    replace_node(stmt, node, delegate)
    return [at(ast.Try(body=sent, handlers=[catch], orelse=[], finalbody=[]), node), stmt]


def _raise_if_exc(like):
    raised = at(ast.Compare(left=load(EXC_PARAM, like), ops=[ast.IsNot()], comparators=[ast.Constant(None)]), like)
    return at(ast.If(test=raised, body=[at(ast.Raise(exc=load(EXC_PARAM, like), cause=None), like)], orelse=[]),
              like)


def rest_of(fn, site, paths, mode):
    """The code a continuation of `site` runs after restoring its variables."""
    if site.stmt is None:   # the entry: the whole body
        body = fn.body[1:] if fn.body and is_docstring(fn.body[0]) else fn.body
        first = [_raise_if_exc(fn)] if mode == "function" else []
        return first + clone(body)
    return rest_after(paths[site.id], resumed(site, mode))


def make_continuation(fn, name, live, rest, mode, declarations=(), prelude=()):
    """The continuation function: `declarations` (global/nonlocal), then
    restore `live`, then `prelude`, then `rest`."""
    body = list(declarations)
    for var in sorted(live):
        restore = at(ast.If(
            test=at(ast.Compare(left=ast.Constant(var), ops=[ast.In()], comparators=[load(VARS_PARAM, fn)]), fn),
            body=[assign(var, at(ast.Subscript(value=load(VARS_PARAM, fn), slice=ast.Constant(var),
                                               ctx=ast.Load()), fn), fn)],
            orelse=[]), fn)
        body.append(restore)
    body += list(prelude) + rest
    names = (VARS_PARAM, VALUE_PARAM, EXC_PARAM) if mode == "function" else (VARS_PARAM,)
    args = ast.arguments(posonlyargs=[], args=[ast.arg(arg=a) for a in names], vararg=None, kwonlyargs=[],
                         kw_defaults=[], kwarg=None, defaults=[])
    return at(ast.FunctionDef(name=name, args=args, body=body, decorator_list=[], returns=None,
                              type_comment=None), fn)
