"""The number stage: number the suspension points of a flattened function.

Id 0 of every function is its entry (where automatic pauses happen; for a
generator: not started yet); then one id per suspension statement, in
source order. An id is the string "<function key>:<n>". The key is the
function's qualified name without `<locals>` (`f`, `C.m`, `f.g`), plus
"@<line>" when the module defines several functions of that name.
"""

import ast
from dataclasses import dataclass

from .ast_queries import all_statements, is_pausing_call, is_yield, walk_scope
from .errors import CompileError


@dataclass
class PauseSite:
    id: str
    function: str          # the user's function name
    line: int              # original line of the call or yield (of the def for the entry)
    kind: str              # entry | call | genentry | yield | yieldfrom
    stmt: ast.stmt | None  # the suspension statement (None for the entry)
    node: ast.AST | None   # the call or yield in it
    call_attr: str | None = None   # `x.attr(...)`: the attribute (to spot explicit __init__ calls)


def entry_id(key):
    return f"{key}:0"


def number_pause_points(fn: ast.FunctionDef, key: str, name: str, mode: str,
                        filename: str = "<program>") -> list[PauseSite]:
    """Tag each suspension statement of fn.body with `kappa_pp` (and its
    call or yield with `kappa_here`); return the sites, entry first."""
    sites = [PauseSite(entry_id(key), name, fn.lineno, "entry" if mode == "function" else "genentry",
                       None, None)]
    is_suspension = is_pausing_call if mode == "function" else is_yield
    for stmt in all_statements(fn.body):
        roots = [stmt.test] if isinstance(stmt, ast.If) else _own_roots(stmt)
        found = [n for root in roots for n in walk_scope(root) if is_suspension(n)]
        if not found:
            continue
        if len(found) > 1 or not isinstance(stmt, (ast.Expr, ast.Assign, ast.AugAssign, ast.Return,
                                                   ast.Raise, ast.Delete, ast.If, ast.AnnAssign)):
            node = found[-1]
            raise CompileError.at(filename, node, "internal: suspension left inside a compound expression",
                                  "please report this program; as a workaround, assign the call's "
                                  "result to a variable in its own statement")
        node = found[0]
        stmt.kappa_pp = f"{key}:{len(sites)}"
        node.kappa_here = True
        kind = "call" if mode == "function" else ("yieldfrom" if isinstance(node, ast.YieldFrom) else "yield")
        sites.append(PauseSite(stmt.kappa_pp, name, node.lineno, kind, stmt, node,
                               getattr(node, "kappa_attr", None)))
    return sites


def _own_roots(stmt):
    """Expressions a statement evaluates itself; compound statements other
    than `if` never hold a suspension after flattening."""
    if isinstance(stmt, (ast.For, ast.While, ast.With, ast.Try, ast.TryStar, ast.Match,
                         ast.FunctionDef, ast.ClassDef)):
        return []
    return [stmt]
