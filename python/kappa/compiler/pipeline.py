"""The compiler pipeline: parse, classify, check, flatten, liveness,
continuations, wrap, compile.

`compile_source(source, filename)` returns a Compiled program: a code object
to exec in a fresh module (see kappa.runtime.load_program), the transformed
source for `kappa compile`, the pause-point table and what the runtime needs
to decide whether an automatic pause is legal (PauseSites).
"""

import ast
import hashlib
import tokenize
import types
from dataclasses import dataclass, field

from .astutil import is_docstring, pause_call_of
from .check import check_module
from .classify import classifier_for, mark_function
from .continuations import continuations
from .flatten import flatten_function
from .liveness import apply_drop, drop_spec, function_liveness
from .parse import parse
from .pausepoints import function_keys, number_pause_points
from .scope import function_locals, module_functions, module_scope
from .wrap import registration, registry_init, with_entry_check, wrap_block

# Part of the fingerprint: a checkpoint taken under another compiler version
# must not be resumed by this one.
COMPILER_VERSION = "mvp-1"


@dataclass(frozen=True)
class PausePointInfo:
    id: str
    function: str
    line: int
    live: tuple
    target: str | None


@dataclass(frozen=True)
class PauseSites:
    """What the runtime checks when deciding if an automatic pause is legal:
    a frame must run one of `codes` and be stopped at a call whose source
    position is in `positions` (line, end line, column, end column)."""
    codes: frozenset
    positions: frozenset
    lines: frozenset     # fallback when the interpreter has no column info

    def __post_init__(self):
        # By identity: code objects compare (and hash, slowly) by content.
        object.__setattr__(self, "_ids", frozenset(map(id, self.codes)))

    def compiled(self, code):
        """True if `code` is a compiled function or continuation of this program."""
        return id(code) in self._ids


@dataclass
class Stats:
    functions: int = 0
    pause_points: int = 0          # pausing call sites, entries not counted
    continuations: int = 0
    source_lines: int = 0
    per_function: dict = field(default_factory=dict)   # name -> pause points


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


def compile_source(source, filename="<program>", drop_live=None):
    """Compile a program. `drop_live` is TEST-ONLY (see liveness.py)."""
    tree = parse(source, filename)
    scope = module_scope(tree)
    functions = module_functions(tree)
    for fn, _ in functions:
        mark_function(fn, classifier_for(scope, fn))
    check_module(tree, filename, [fn for fn, _ in functions])

    keys = function_keys([fn for fn, _ in functions])
    transformed = [_transform(fn, key, filename) for (fn, _), key in zip(functions, keys)]

    live = {}
    for t in transformed:
        live.update(t.live)
    order = [s.id for t in transformed for s in t.sites]
    dropped = apply_drop(live, drop_spec(drop_live), order)

    stats = Stats(functions=len(functions), source_lines=len(source.splitlines()))
    info = {}
    for (fn, block), t in zip(functions, transformed):
        new = _emit(fn, t, live)
        index = next(i for i, s in enumerate(block) if s is fn)
        block[index:index + 1] = new
        stats.per_function[t.key] = len(t.sites) - 1
        stats.pause_points += len(t.sites) - 1
        stats.continuations += len(t.sites)
        for s in t.sites:
            info[s.id] = PausePointInfo(s.id, s.function, s.line, tuple(sorted(live[s.id])), s.target)

    top = ast.Pass(lineno=1, col_offset=0, end_lineno=1, end_col_offset=0)
    tree.body[_prologue_end(tree):0] = [registry_init(top)]
    code = _compile(tree, filename)
    code, codes = _name_continuations(code, transformed)
    sites = _sites(transformed, codes)
    fingerprint = hashlib.sha256(f"{COMPILER_VERSION}\0{filename}\0{source}".encode()).hexdigest()
    return Compiled(filename, code, tree, source, info, sites, stats, fingerprint, dropped)


@dataclass
class _Function:
    key: str
    fn: ast.FunctionDef
    sites: list
    live: dict
    conts: list      # [(site, continuation FunctionDef)]


def _transform(fn, key, filename):
    local_names = function_locals(fn)
    fn.body = flatten_function(fn, local_names, filename)
    sites = number_pause_points(fn, key)
    local_names |= {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)
                    and isinstance(n.ctx, ast.Store)}   # temporaries
    entry, at_pause = function_liveness(fn.body, local_names)
    live = dict(at_pause)
    live[sites[0].id] = entry
    return _Function(key, fn, sites, live, [])


def _emit(fn, t, live):
    """The def, its continuations and their registrations, in that order."""
    conts = continuations(fn, t.key, t.sites, live)
    fn.body = with_entry_check(fn, wrap_block(fn.body), t.sites[0].id)
    out = [fn]
    for site, cont in conts:
        cont.body = wrap_block(cont.body)
        out.append(cont)
    out.extend(registration(site, cont.name, live[site.id], fn) for site, cont in conts)
    t.conts = conts
    return out


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


def _name_continuations(code, functions):
    """Give continuation code objects the user's function name, so every
    traceback says `in f`; return the new module code and the set of code
    objects that are compiled program code."""
    by_cont = {}
    originals = set()
    for t in functions:
        originals.add(t.fn.name)
        for _, cont in t.conts:
            by_cont[cont.name] = t.fn.name
    consts, codes = [], set()
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            if const.co_name in by_cont:
                name = by_cont[const.co_name]
                const = const.replace(co_name=name, co_qualname=name)
                codes.add(const)
            elif const.co_name in originals and const.co_qualname == const.co_name:
                codes.add(const)
        consts.append(const)
    return code.replace(co_consts=tuple(consts)), frozenset(codes)


def _sites(functions, codes):
    """Source positions of the pausing calls (continuations copy the same calls)."""
    positions, lines = set(), set()
    for t in functions:
        for site in t.sites[1:]:
            node = pause_call_of(site.stmt)
            positions.add((node.lineno, node.end_lineno, node.col_offset, node.end_col_offset))
            lines.add(node.lineno)
    return PauseSites(codes, frozenset(positions), frozenset(lines))


__all__ = ["compile_source", "compile_file", "Compiled", "PausePointInfo", "PauseSites", "Stats"]
