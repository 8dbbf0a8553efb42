"""Building AST nodes for generated code: located nodes, names, runtime
calls, copies and replacements (questions about a tree: ast_queries.py).

Every generated node gets a location as it is built (`at`), taken from the
user's node it stands for, so tracebacks point at the user's lines.
"""

import ast
from typing import TypeVar

from .names import RUNTIME

N = TypeVar("N", bound=ast.AST)
T = TypeVar("T")   # an AST node, a list of them, or a leaf value


def at(node: N, like: ast.AST) -> N:
    """Give `node` and its new (location-less) descendants the location of
    `like`. Subtrees that have a location already came from the user's code
    and are left alone (and not walked: this runs for every generated node)."""
    where = (like.lineno, like.col_offset, getattr(like, "end_lineno", None),
             getattr(like, "end_col_offset", None))
    if "lineno" in node._attributes:
        _locate(node, where)
    todo = list(ast.iter_child_nodes(node))
    while todo:
        child = todo.pop()
        if "lineno" in child._attributes:
            if getattr(child, "lineno", None) is not None:
                continue
            _locate(child, where)
        todo.extend(ast.iter_child_nodes(child))
    return node


def _locate(node: ast.AST, where: tuple) -> None:
    node.lineno, node.col_offset, node.end_lineno, node.end_col_offset = where


def keyword_range(node: ast.AST, length: int) -> ast.Pass:
    """A location covering the first `length` characters of `node` (the
    `def`/`lambda` keyword): a range no call in the program has."""
    return ast.Pass(lineno=node.lineno, col_offset=node.col_offset, end_lineno=node.lineno,
                    end_col_offset=node.col_offset + length)


def load(name: str, like: ast.AST) -> ast.Name:
    return at(ast.Name(id=name, ctx=ast.Load()), like)


def store(name: str, like: ast.AST) -> ast.Name:
    return at(ast.Name(id=name, ctx=ast.Store()), like)


def assign(name: str, value: ast.expr, like: ast.AST) -> ast.Assign:
    return at(ast.Assign(targets=[store(name, like)], value=value), like)


def runtime_attr(name: str, like: ast.AST) -> ast.Attribute:
    """`__kappa__.name`: what the generated code needs, safe from shadowing."""
    return at(ast.Attribute(value=load(RUNTIME, like), attr=name, ctx=ast.Load()), like)


def drop_own_entry(name: str, like: ast.AST) -> ast.Assign:
    """`name.__traceback__ = name.__traceback__.tb_next`: a continuation that
    raises a saved exception again to handle or re-raise it takes off the
    traceback entry that raise added, so the traceback reads as it did."""
    tb = lambda ctx: at(ast.Attribute(value=load(name, like), attr="__traceback__", ctx=ctx), like)  # noqa: E731
    return at(ast.Assign(targets=[tb(ast.Store())],
                         value=at(ast.Attribute(value=tb(ast.Load()), attr="tb_next", ctx=ast.Load()), like)), like)


def transparent_raise(name: str, like: ast.AST) -> ast.Try:
    """Raise the saved exception `name` without a traceback entry for this
    frame: a bare `raise` adds none (a plain `raise e` would)."""
    handler = at(ast.ExceptHandler(type=runtime_attr("BaseException", like), name=None,
                                   body=[drop_own_entry(name, like), at(ast.Raise(exc=None, cause=None), like)]),
                 like)
    return at(ast.Try(body=[at(ast.Raise(exc=load(name, like), cause=None), like)], handlers=[handler],
                      orelse=[], finalbody=[]), like)


def runtime_call(name: str, args: list[ast.expr], like: ast.AST) -> ast.Call:
    """A call of a runtime helper; it never pauses."""
    call = at(ast.Call(func=runtime_attr(name, like), args=args, keywords=[]), like)
    call.kappa_pause = False
    return call


def plain_call(func: ast.expr, args: list[ast.expr], like: ast.AST) -> ast.Call:
    """A generated call that never pauses."""
    call = at(ast.Call(func=func, args=args, keywords=[]), like)
    call.kappa_pause = False
    return call


def clone(node: T) -> T:
    """A deep copy of an AST node or list of nodes, markers included
    (several times faster than copy.deepcopy, which matters: continuations
    copy the rest of a function once per pause point)."""
    if isinstance(node, list):
        return [clone(n) for n in node]
    if not isinstance(node, ast.AST):
        return node
    new = node.__class__.__new__(node.__class__)
    for name, value in node.__dict__.items():
        if isinstance(value, list):
            value = [clone(v) if isinstance(v, ast.AST) else v for v in value]
        elif isinstance(value, ast.AST):
            value = clone(value)
        setattr(new, name, value)
    return new


def replace_node(tree: N, old: ast.AST, new: ast.AST) -> N:
    """Replace the node `old` (by identity) somewhere inside `tree`; returns tree."""
    for parent in ast.walk(tree):
        for field, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, field, new)
                return tree
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if item is old:
                        value[i] = new
                        return tree
    raise ValueError("node not found")
