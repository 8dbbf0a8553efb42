"""What compiling a program produces: the Compiled program, its pause-point
table, and the PauseSites the runtime uses to find pause points from the
positions frames stopped at.
"""

import ast
import dis
import types
from dataclasses import dataclass, field

# The instructions a frame stopped in a call is at (3.11: CALL after PRECALL).
_CALL_OPS = frozenset(dis.opmap[name] for name in ("CALL", "CALL_FUNCTION_EX", "CALL_KW") if name in dis.opmap)
_CACHE = dis.opmap.get("CACHE", -1)


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

    def __init__(self, filename: str, code: types.CodeType, tree: ast.Module, original: str,
                 pause_points: dict[str, PausePointInfo], sites: PauseSites, stats: Stats, fingerprint: str,
                 dropped: tuple[str, str] | None = None) -> None:
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
    def source(self) -> str:
        if self._source is None:
            self._source = ast.unparse(self._tree)
            self._tree = None
        return self._source

    @property
    def generated_lines(self) -> int:
        return len(self.source.splitlines())

    def __repr__(self):
        return f"<Compiled {self.filename}: {self.stats.functions} functions, {self.stats.pause_points} pause points>"


__all__ = ["Compiled", "PausePointInfo", "PauseSites", "Stats"]
