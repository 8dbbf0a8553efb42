"""Questions about the AST, shared by the stages: node kinds, walking one
scope, the blocks of a statement, the names an expression reads or binds.
Nothing here changes a tree (building nodes: ast_builders.py).

Markers are plain attributes on AST nodes (`clone` keeps them):
`kappa_pause` on a Call that may pause (set by classify), `kappa_pp` on a
statement that is a suspension point (set by pausepoints) and `kappa_at` on
the call or yield inside it that suspends.

"Suspension" is what a continuation resumes after: a pausing call in a
compiled function, a `yield`/`yield from` in a generator.
"""

import ast
from collections.abc import Iterable, Iterator

SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
LOOPS = (ast.For, ast.While, ast.AsyncFor)

# (line, end line, column, end column): how the runtime finds a pause point
Position = tuple[int, int | None, int, int | None]


def is_docstring(stmt: ast.AST) -> bool:
    return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str))


def scope_children(node: ast.AST) -> list[ast.AST]:
    """Children of `node` evaluated in node's own scope: a nested def
    contributes its decorators and defaults, a class its decorators, bases
    and keywords, a lambda its defaults, a comprehension its first iterable."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        a = node.args
        return node.decorator_list + a.defaults + [d for d in a.kw_defaults if d is not None]
    if isinstance(node, ast.ClassDef):
        return node.decorator_list + node.bases + [k.value for k in node.keywords]
    if isinstance(node, ast.Lambda):
        return node.args.defaults + [d for d in node.args.kw_defaults if d is not None]
    if isinstance(node, COMPREHENSIONS):
        return [node.generators[0].iter]
    return list(ast.iter_child_nodes(node))


def walk_scope(node: ast.AST) -> Iterator[ast.AST]:
    """ast.walk that stays in the scope of `node` (see scope_children)."""
    todo = [node]
    while todo:
        n = todo.pop()
        yield n
        todo.extend(scope_children(n))


def is_pausing_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and getattr(node, "kappa_pause", False)


def is_yield(node: ast.AST) -> bool:
    return isinstance(node, (ast.Yield, ast.YieldFrom))


def contains_pause(node: ast.AST) -> bool:
    """True if evaluating `node` in its own scope may pause."""
    return any(is_pausing_call(n) for n in walk_scope(node))


def header_nodes(stmt: ast.stmt) -> list[ast.AST]:
    """The expressions a compound statement evaluates itself (not its body)."""
    if isinstance(stmt, (ast.If, ast.While)):
        return [stmt.test]
    if isinstance(stmt, (ast.For, ast.AsyncFor)):
        return [stmt.iter, stmt.target]
    if isinstance(stmt, (ast.With, ast.AsyncWith)):
        return [x for item in stmt.items for x in (item.context_expr, item.optional_vars) if x]
    if isinstance(stmt, ast.Match):
        return [stmt.subject]
    if isinstance(stmt, (ast.Try, ast.TryStar)):
        return [h.type for h in stmt.handlers if h.type is not None]
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return scope_children(stmt)
    return [stmt]


def child_blocks(stmt: ast.stmt) -> list[list[ast.stmt]]:
    """The statement lists nested in a compound statement (same scope)."""
    if isinstance(stmt, (ast.If, ast.For, ast.While, ast.AsyncFor)):
        return [stmt.body, stmt.orelse]
    if isinstance(stmt, (ast.With, ast.AsyncWith)):
        return [stmt.body]
    if isinstance(stmt, (ast.Try, ast.TryStar)):
        return [stmt.body] + [h.body for h in stmt.handlers] + [stmt.orelse, stmt.finalbody]
    if isinstance(stmt, ast.Match):
        return [c.body for c in stmt.cases]
    return []


def all_statements(stmts: Iterable[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement of a block, through compound statements (not scopes)."""
    for stmt in stmts:
        yield stmt
        for block in child_blocks(stmt):
            yield from all_statements(block)


def position(node: ast.AST) -> Position:
    return (node.lineno, node.end_lineno, node.col_offset, node.end_col_offset)


def loaded_names(node: ast.AST) -> set[str]:
    """Every name read anywhere in `node` (over-approximates nested scopes)."""
    return {n.id for n in ast.walk(node)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def mentioned_names(node: ast.AST) -> set[str]:
    """Every name used anywhere in `node`, nested scopes included."""
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def stored_names(target: ast.expr) -> set[str]:
    """Names bound by an assignment target (Name, Tuple, List, Starred)."""
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, (ast.Tuple, ast.List)):
        out = set()
        for elt in target.elts:
            out |= stored_names(elt)
        return out
    if isinstance(target, ast.Starred):
        return stored_names(target.value)
    return set()


def target_reads(target: ast.expr) -> set[str]:
    """Names read while storing into `target` (a[i] reads a and i)."""
    if isinstance(target, ast.Name):
        return set()
    if isinstance(target, (ast.Tuple, ast.List)):
        out = set()
        for elt in target.elts:
            out |= target_reads(elt)
        return out
    if isinstance(target, ast.Starred):
        return target_reads(target.value)
    return loaded_names(target)


def loop_exits(stmts: Iterable[ast.stmt]) -> bool:
    """True if `stmts` contain a break/continue bound to the enclosing loop."""
    return any(isinstance(n, (ast.Break, ast.Continue)) for s in stmts for n in same_loop(s))


def same_loop(node: ast.AST) -> Iterator[ast.AST]:
    """Nodes of `node` whose break/continue bind to the same loop as node's
    (does not enter nested loop bodies or scopes)."""
    todo = [node]
    while todo:
        n = todo.pop()
        yield n
        if isinstance(n, LOOPS):
            todo.extend(n.orelse)  # an else clause's break binds outside
            continue
        if isinstance(n, SCOPES):
            continue
        for block in child_blocks(n):
            todo.extend(block)
