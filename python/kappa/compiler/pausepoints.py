"""Number the pause points of a flattened function.

Id 0 of every function is its entry (where automatic pauses happen); then
one id per pausing call statement, in source order. An id is the string
"<function key>:<n>"; the key is the function's name, plus "@<line>" when
the module defines several functions of that name.
"""

import ast
from dataclasses import dataclass

from .astutil import pause_call_of, pause_target_of


@dataclass
class PauseSite:
    id: str
    function: str          # the user's function name
    line: int              # original line of the call (of the def for entry)
    target: str | None     # the name the call's result is assigned to
    stmt: ast.stmt | None  # None for the entry


def entry_id(key):
    return f"{key}:0"


def function_keys(functions):
    """A unique key per compiled function definition."""
    names = [fn.name for fn in functions]
    return [fn.name if names.count(fn.name) == 1 else f"{fn.name}@{fn.lineno}"
            for fn in functions]


def number_pause_points(fn, key):
    """Tag each pause statement of fn.body with `kappa_pp`; return the sites,
    entry first."""
    sites = [PauseSite(entry_id(key), fn.name, fn.lineno, None, None)]
    for stmt in _statements(fn.body):
        call = pause_call_of(stmt)
        if call is not None:
            stmt.kappa_pp = f"{key}:{len(sites)}"
            sites.append(PauseSite(stmt.kappa_pp, fn.name, call.lineno,
                                   pause_target_of(stmt), stmt))
    return sites


def _statements(stmts):
    """Every statement, in source order, through if/for/while blocks."""
    for stmt in stmts:
        yield stmt
        if isinstance(stmt, (ast.If, ast.For, ast.While)):
            yield from _statements(stmt.body)
            yield from _statements(stmt.orelse)
