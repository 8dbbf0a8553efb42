"""The compiler pipeline: parse, mangle, classify, check, shape (prepare,
flatten, desugar, number), emit (continuations, liveness, wrap), compile.

`compile_source(source, filename)` returns a Compiled program: a code object
to exec in a fresh module (see kappa.runtime.load_program), the transformed
source for `kappa compile`, the pause-point table and what the runtime needs
to find pause points from source positions (PauseSites).
"""

import ast
import dis
import hashlib
import tokenize
import types
from dataclasses import dataclass, field

from .astutil import Temps, is_docstring
from .check import check_module
from .classify import mark_module
from .codes import rename_codes
from .emit import Emitter, site_positions
from .liveness import apply_drop, drop_spec
from .mangle import mangle_module
from .parse import parse
from .prepare import hoist_lambdas
from .scope import module_scope
from .shapes import make_positions_unique, number_all, shape_module
from .symbols import analyze
from .wrap import registry_init

# The instructions a frame stopped in a call is at (3.11: CALL after PRECALL).
_CALL_OPS = frozenset(dis.opmap[name] for name in ("CALL", "CALL_FUNCTION_EX", "CALL_KW") if name in dis.opmap)
_CACHE = dis.opmap.get("CACHE", -1)

# Part of the fingerprint: a checkpoint taken under another compiler version
# must not be resumed by this one.
COMPILER_VERSION = "3"


@dataclass(frozen=True)
class PausePointInfo:
    id: str
    function: str
    line: int
    live: tuple
    target: str | None


@dataclass(frozen=True)
class PauseSites:
    """What the runtime needs about a compiled program's code: which code
    objects are compiled functions, and which pause point each source
    position is (calls, entry checks, yields)."""
    codes: frozenset
    positions: frozenset          # (line, end line, column, end column) of pausing calls
    lines: frozenset              # fallback when the interpreter has no column info
    pause_at: dict = field(default_factory=dict)   # position -> pause id (calls and entries)
    yield_at: dict = field(default_factory=dict)   # position -> pause id (yields)
    module_code: object = None                     # the program's code, for code_path/code_at

    def __post_init__(self):
        # By identity: code objects compare (and hash, slowly) by content.
        object.__setattr__(self, "_ids", frozenset(map(id, self.codes)))
        object.__setattr__(self, "_tables", {})
        by_line = {}
        for (line, *_), pp in list(self.pause_at.items()) + list(self.yield_at.items()):
            by_line.setdefault(line, set()).add(pp)
        object.__setattr__(self, "_by_line", {k: next(iter(v)) for k, v in by_line.items() if len(v) == 1})

    def compiled(self, code):
        """True if `code` is a compiled function or continuation of this program."""
        return id(code) in self._ids

    def pause_id(self, code, lasti):
        """The pause point a frame of `code` stopped at instruction `lasti` is at, or None."""
        return self._table(code, self.pause_at).get(lasti)

    def yield_id(self, code, lasti):
        """The yield point a generator frame suspended at `lasti` is at, or None."""
        return self._table(code, self.yield_at).get(lasti)

    def code_path(self, code):
        """Where `code` is in the program's code (a tuple of co_consts indexes), or None."""
        return self._index()[0].get(id(code))

    def code_at(self, path):
        return self._index()[1][tuple(path)]

    def _index(self):
        index = self._tables.get("codes")
        if index is None:
            by_id, by_path = {}, {}
            todo = [((), self.module_code)] if self.module_code is not None else []
            while todo:
                path, code = todo.pop()
                by_id[id(code)], by_path[path] = path, code
                todo.extend((path + (i,), c) for i, c in enumerate(code.co_consts)
                            if isinstance(c, types.CodeType))
            index = self._tables["codes"] = (by_id, by_path)
        return index

    def _table(self, code, where):
        key = (id(code), id(where))
        table = self._tables.get(key)
        if table is None:
            table = {}
            # A pausing call is stopped at a call instruction. Other
            # instructions at the same position (a `with` entering its
            # manager, a decorator applied, a temporary that holds the
            # call's value) are implicit calls, not that pause point.
            # (A frame in a call may show the call's inline cache as its
            # last instruction.)
            calls_only = where is self.pause_at
            raw = code.co_code
            in_call = False
            for i, pos in enumerate(code.co_positions()):
                if raw[2 * i] != _CACHE:
                    in_call = raw[2 * i] in _CALL_OPS
                if calls_only and not in_call:
                    continue
                # without column information (-X no_debug_ranges): by line, if unique
                pp = where.get(pos) if pos[2] is not None else self._by_line.get(pos[0])
                if pp is not None and (pos[2] is not None or pp in where.values()):
                    table[2 * i] = pp
            self._tables[key] = table
        return table


@dataclass
class Stats:
    functions: int = 0
    pause_points: int = 0          # pausing call sites and yields, entries not counted
    continuations: int = 0
    source_lines: int = 0
    per_function: dict = field(default_factory=dict)   # key -> pause points


class Compiled:
    """A compiled program. `source` (the transformed module as Python text,
    for `kappa compile`) is produced on first use: the worker never needs it."""

    def __init__(self, filename, code, tree, original, pause_points, sites, stats,
                 fingerprint, dropped=None):
        self.filename = filename
        self.code = code                  # exec it in a fresh module: load_program
        self.original = original          # the user's source
        self.pause_points = pause_points  # id -> PausePointInfo
        self.sites = sites                # PauseSites, for the runtime
        self.stats = stats
        self.fingerprint = fingerprint    # identifies program and compiler version
        self.dropped = dropped            # (pause id, name) under the TEST-ONLY drop switch
        self._tree = tree
        self._source = None

    @property
    def source(self):
        if self._source is None:
            self._source = ast.unparse(self._tree)
            self._tree = None
        return self._source

    @property
    def generated_lines(self):
        return len(self.source.splitlines())

    def __repr__(self):
        return f"<Compiled {self.filename}: {self.stats.functions} functions, {self.stats.pause_points} pause points>"


def compile_file(path, **options):
    with tokenize.open(path) as f:   # honours a coding declaration
        source = f.read()
    return compile_source(source, str(path), **options)


def compile_source(source, filename="<program>", drop_live=None, auto_pauses=True, program_modules=()):
    """Compile a program. With auto_pauses=False, compiled functions do not
    test the pending flag at entry: only explicit checkpoints and Kappa
    calls pause. `program_modules`: top-level names of the program's own
    other modules (a directory program's), whose functions may pause.
    `drop_live` is TEST-ONLY (see liveness.py)."""
    tree = parse(source, filename)
    mangle_module(tree)
    scope = module_scope(tree)
    scope.program_modules = frozenset(program_modules)
    mark_module(tree, scope)
    check_module(tree, filename, scope)

    functions = _shape(tree, scope, filename)
    emitter = Emitter(analyze(tree), auto_pauses)
    for info in reversed(functions):   # innermost first
        emitter.function(info)
    dropped = _drop(emitter.points, [s.id for f in functions for s in f.sites], drop_spec(drop_live))

    body = []
    for top in tree.body:
        body.append(top)
        body.extend(emitter.module_statements(top))
    tree.body = body
    top = ast.Pass(lineno=1, col_offset=0, end_lineno=1, end_col_offset=0)
    tree.body[_prologue_end(tree):0] = [registry_init(top)]
    code = _compile(tree, filename)
    code, codes = rename_codes(code, emitter.renames, emitter.factories)

    calls, entries, yields = site_positions(emitter.points)
    sites = PauseSites(codes, frozenset(calls), frozenset(p[0] for p in calls), {**calls, **entries}, yields,
                       code)
    stats = _stats(functions, len(source.splitlines()))
    info = {p.site.id: PausePointInfo(p.site.id, p.site.function, p.site.line, tuple(sorted(p.live | p.cells)),
                                      _target(p.site.stmt)) for p in emitter.points}
    options = ("" if auto_pauses else "\0no-auto-pauses") + "".join(f"\0{m}" for m in sorted(scope.program_modules))
    fingerprint = hashlib.sha256(f"{COMPILER_VERSION}{options}\0{filename}\0{source}".encode()).hexdigest()
    return Compiled(filename, code, tree, source, info, sites, stats, fingerprint, dropped)


def _shape(tree, scope, filename):
    tree.body = hoist_lambdas(tree.body, Temps())
    functions = shape_module(tree, scope, filename)
    number_all(functions, filename)
    make_positions_unique(functions)
    return functions


def _drop(points, order, spec):
    """Apply the TEST-ONLY drop switch to the registered live sets."""
    live = {p.site.id: p.live for p in points}
    dropped = apply_drop(live, spec, order)
    for p in points:
        p.live = live[p.site.id]
    return dropped


def _target(stmt):
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        return stmt.targets[0].id
    return None


def _stats(functions, lines):
    stats = Stats(functions=len(functions), source_lines=lines)
    for info in functions:
        n = len(info.sites) - 1
        stats.per_function[info.key] = n
        stats.pause_points += n
        stats.continuations += len(info.sites)
    return stats


def _compile(tree, filename):
    # Every generated node is located as it is built; fixing locations walks
    # the whole (quadratic) tree, so do it only if a node was missed.
    try:
        return compile(tree, filename, "exec", dont_inherit=True)
    except (TypeError, ValueError):
        ast.fix_missing_locations(tree)
        return compile(tree, filename, "exec", dont_inherit=True)


def _prologue_end(tree):
    """Index after the module docstring and `from __future__` imports."""
    i = 0
    body = tree.body
    if body and is_docstring(body[0]):
        i = 1
    while i < len(body) and isinstance(body[i], ast.ImportFrom) and body[i].module == "__future__":
        i += 1
    return i


__all__ = ["compile_source", "compile_file", "Compiled", "PausePointInfo", "PauseSites", "Stats"]
