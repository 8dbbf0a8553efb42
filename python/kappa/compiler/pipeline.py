"""The compiler's stages, declared once: STAGES, in the order they run.

Each stage is a function from the state the stage before it returned to
the next state; the states say what is known so far (Source, Parsed,
Classified, Shaped, Emitted, then the Compiled program). The AST is
changed in place, so a state handed to a stage belongs to that stage.
`compile_source` runs all of STAGES; a test runs a prefix
(`run_stages(Source(text), stages_through("classify"))`) or one stage on
a state it built (`stage("number").run(state)`).

The shape stage runs FUNCTION_STAGES on every function (outer first,
since flattening one can make defs nested in it); the emit stage runs
continuations, liveness and wrap on every function (innermost first, so a
function's continuations copy nested defs that are already compiled).
"""

import ast
import hashlib
import tokenize
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from os import PathLike
from types import CodeType
from typing import Any, TypeVar

from .ast_queries import is_docstring
from .check import check_module
from .classify import mark_module
from .codes import rename_codes
from .compiled import Compiled, PausePointInfo, PauseSites, Stats
from .desugar import desugar_body
from .emit import Emitter, Point, site_positions
from .flatten import flatten_function
from .liveness import apply_drop, drop_spec
from .mangle import mangle_module
from .names import Temps
from .parse import parse
from .prepare import convert_generator_expressions, hoist_lambdas, rewrite_super
from .scope import ModuleScope, module_scope
from .shapes import FunctionInfo, FunctionUnit, make_positions_unique, number_all, shape_module
from .symbols import analyze
from .wrap import registry_init

# Part of the fingerprint: a checkpoint taken under another compiler version
# must not be resumed by this one.
COMPILER_VERSION = "3"


# -- what is known after each stage ------------------------------------------------------


@dataclass(frozen=True)
class Options:
    auto_pauses: bool = True                 # entry checks: automatic pauses at function entries
    program_modules: frozenset[str] = frozenset()   # the program's own other modules (they may pause)
    drop_live: str | None = None             # TEST-ONLY (liveness.py)


@dataclass
class Source:
    text: str
    filename: str = "<program>"
    options: Options = field(default_factory=Options)


@dataclass(kw_only=True)
class Parsed(Source):
    tree: ast.Module


@dataclass(kw_only=True)
class Classified(Parsed):
    scope: ModuleScope       # module bindings; every call marked `kappa_pause`


@dataclass(kw_only=True)
class Shaped(Classified):
    functions: list[FunctionInfo]   # outer first; `sites` filled by the number stage


@dataclass(kw_only=True)
class Emitted(Shaped):
    emitter: Emitter                   # continuations, registrations, code renames
    dropped: tuple[str, str] | None    # (pause id, name) under the TEST-ONLY drop switch


S = TypeVar("S", bound=Source)


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[..., Any]   # state -> next state (a function stage: FunctionUnit -> None)
    summary: str


def _advance(cls: type[S], state: Source, **new: Any) -> S:
    """The next state: what `state` knew plus `new`."""
    return cls(**{f.name: getattr(state, f.name) for f in fields(cls) if f.name not in new}, **new)


# -- function stages (run by the shape stage on every function) ----------------------------


def _prepare(unit: FunctionUnit) -> None:
    fn = unit.info.node
    if unit.in_class:
        rewrite_super(fn)
    convert_generator_expressions(fn, unit.classifier, unit.info.temps)


def _flatten(unit: FunctionUnit) -> None:
    fn, info = unit.info.node, unit.info
    fn.body = flatten_function(fn, unit.symbols.locals, unit.filename, info.mode, unit.stable, unit.classifier,
                               info.temps)


def _desugar(unit: FunctionUnit) -> None:
    unit.info.node.body = desugar_body(unit.info.node.body, unit.info.mode, unit.info.temps)


FUNCTION_STAGES: tuple[Stage, ...] = (
    Stage("prepare", _prepare, "zero-argument super() made explicit, generator expressions made "
                               "generator functions (prepare.py)"),
    Stage("flatten", _flatten, "A-normal form: every suspension in a statement of its own "
                               "(flatten.py, flatten_expr.py, comprehensions.py)"),
    Stage("desugar", _desugar, "try and with statements around suspensions rewritten so captures "
                               "pass through and continuations resume inside them (desugar.py)"),
)


# -- module stages -------------------------------------------------------------------------


def _parse(state: Source) -> Parsed:
    return _advance(Parsed, state, tree=parse(state.text, state.filename))


def _mangle(state: Parsed) -> Parsed:
    mangle_module(state.tree)
    return state


def _classify(state: Parsed) -> Classified:
    scope = module_scope(state.tree)
    scope.program_modules = state.options.program_modules
    mark_module(state.tree, scope)
    return _advance(Classified, state, scope=scope)


def _check(state: Classified) -> Classified:
    check_module(state.tree, state.filename, state.scope)
    return state


def _shape(state: Classified, steps: Sequence[Stage] = FUNCTION_STAGES) -> Shaped:
    """Module-level lambdas that pause become defs, then `steps` run on every function."""
    tree = state.tree
    tree.body = hoist_lambdas(tree.body, Temps())
    functions = shape_module(tree, state.scope, state.filename, [s.run for s in steps])
    return _advance(Shaped, state, functions=functions)


def _number(state: Shaped) -> Shaped:
    number_all(state.functions, state.filename)
    make_positions_unique(state.functions)
    return state


def _emit(state: Shaped) -> Emitted:
    emitter = Emitter(analyze(state.tree), state.options.auto_pauses)
    for info in reversed(state.functions):   # innermost first
        emitter.function(info)
    order = [s.id for f in state.functions for s in f.sites]
    dropped = _drop(emitter.points, order, drop_spec(state.options.drop_live))
    return _advance(Emitted, state, emitter=emitter, dropped=dropped)


def _assemble(state: Emitted) -> Emitted:
    tree = state.tree
    body = []
    for top in tree.body:
        body.append(top)
        body.extend(state.emitter.module_statements(top))
    tree.body = body
    top = ast.Pass(lineno=1, col_offset=0, end_lineno=1, end_col_offset=0)
    tree.body[_prologue_end(tree):0] = [registry_init(top)]
    return state


def _compile(state: Emitted) -> Compiled:
    emitter, options = state.emitter, state.options
    code = _bytecode(state.tree, state.filename)
    code, codes = rename_codes(code, emitter.renames, emitter.factories)
    calls, entries, yields = site_positions(emitter.points)
    sites = PauseSites(codes, frozenset(calls), frozenset(p[0] for p in calls), {**calls, **entries}, yields,
                       code)
    stats = _stats(state.functions, len(state.text.splitlines()))
    info = {p.site.id: PausePointInfo(p.site.id, p.site.function, p.site.line, tuple(sorted(p.live | p.cells)),
                                      _target(p.site.stmt)) for p in emitter.points}
    flags = ("" if options.auto_pauses else "\0no-auto-pauses") + "".join(
        f"\0{m}" for m in sorted(options.program_modules))
    fingerprint = hashlib.sha256(f"{COMPILER_VERSION}{flags}\0{state.filename}\0{state.text}".encode()).hexdigest()
    return Compiled(state.filename, code, state.tree, state.text, info, sites, stats, fingerprint, state.dropped)


STAGES: tuple[Stage, ...] = (
    Stage("parse", _parse, "source text to AST; a syntax error is a CompileError (parse.py)"),
    Stage("mangle", _mangle, "private names inside classes mangled explicitly (mangle.py)"),
    Stage("classify", _classify, "module bindings; every call marked if it may pause "
                                 "(scope.py, classify.py)"),
    Stage("check", _check, "unsupported constructs rejected with a one-line message (check.py)"),
    Stage("shape", _shape, "FUNCTION_STAGES on every function, outer first (shapes.py)"),
    Stage("number", _number, "suspension points numbered, each at a source position of its own "
                             "(pausepoints.py, shapes.py)"),
    Stage("emit", _emit, "per function, innermost first: continuations, live sets, wrapping "
                         "(emit.py, continuations.py, liveness.py, wrap.py)"),
    Stage("assemble", _assemble, "continuations and pause-point registrations placed in the module"),
    Stage("compile", _compile, "bytecode with the user's names; the pause-point tables (codes.py, compiled.py)"),
)


# -- running the stages ----------------------------------------------------------------------


def stage(name: str, stages: Sequence[Stage] = STAGES) -> Stage:
    return stages[_index(name, stages)]


def stages_through(last: str, stages: Sequence[Stage] = STAGES) -> tuple[Stage, ...]:
    """The stages up to and including `last`."""
    return tuple(stages[:_index(last, stages) + 1])


def run_stages(state: Any, stages: Iterable[Stage] = STAGES) -> Any:
    for s in stages:
        state = s.run(state)
    return state


def _index(name: str, stages: Sequence[Stage]) -> int:
    names = [s.name for s in stages]
    if name not in names:
        raise ValueError(f"no compiler stage {name!r}; the stages are: {', '.join(names)}")
    return names.index(name)


def compile_file(path: str | PathLike[str], **options: Any) -> Compiled:
    with tokenize.open(path) as f:   # honours a coding declaration
        source = f.read()
    return compile_source(source, str(path), **options)


def compile_source(source: str, filename: str = "<program>", drop_live: str | None = None,
                   auto_pauses: bool = True, program_modules: Iterable[str] = ()) -> Compiled:
    """Compile a program. With auto_pauses=False, compiled functions do not
    test the pending flag at entry: only explicit checkpoints and Kappa
    calls pause. `program_modules`: top-level names of the program's own
    other modules (a directory program's), whose functions may pause.
    `drop_live` is TEST-ONLY (see liveness.py)."""
    options = Options(auto_pauses, frozenset(program_modules), drop_live)
    return run_stages(Source(source, filename, options))


# -- helpers ---------------------------------------------------------------------------------


def _drop(points: list[Point], order: list[str], spec: str | None) -> tuple[str, str] | None:
    """Apply the TEST-ONLY drop switch to the registered live sets."""
    live = {p.site.id: p.live for p in points}
    dropped = apply_drop(live, spec, order)
    for p in points:
        p.live = live[p.site.id]
    return dropped


def _target(stmt: ast.stmt | None) -> str | None:
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        return stmt.targets[0].id
    return None


def _stats(functions: list[FunctionInfo], lines: int) -> Stats:
    stats = Stats(functions=len(functions), source_lines=lines)
    for info in functions:
        n = len(info.sites) - 1
        stats.per_function[info.key] = n
        stats.pause_points += n
        stats.continuations += len(info.sites)
    return stats


def _bytecode(tree: ast.Module, filename: str) -> CodeType:
    # Every generated node is located as it is built; fixing locations walks
    # the whole (quadratic) tree, so do it only if a node was missed.
    try:
        return compile(tree, filename, "exec", dont_inherit=True)
    except (TypeError, ValueError):
        ast.fix_missing_locations(tree)
        return compile(tree, filename, "exec", dont_inherit=True)


def _prologue_end(tree: ast.Module) -> int:
    """Index after the module docstring and `from __future__` imports."""
    i = 0
    body = tree.body
    if body and is_docstring(body[0]):
        i = 1
    while i < len(body) and isinstance(body[i], ast.ImportFrom) and body[i].module == "__future__":
        i += 1
    return i


__all__ = ["COMPILER_VERSION", "FUNCTION_STAGES", "STAGES", "Classified", "Compiled", "Emitted", "Options",
           "Parsed", "PausePointInfo", "PauseSites", "Shaped", "Source", "Stage", "Stats", "compile_file",
           "compile_source", "run_stages", "stage", "stages_through"]
