"""The shape stage: find every function of the module and run the function
stages (pipeline.FUNCTION_STAGES: prepare, flatten, desugar) on each; the
number stage then numbers their suspension points.

Every def is compiled: module-level functions, methods, nested functions,
and the defs the stages make from lambdas and generator expressions. A
function with a yield is a generator: its suspensions are its yields, and
its calls are not pause points. Outer functions come first (flattening one
can create defs nested in it); the list keeps that order.
"""

import ast
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .ast_queries import SCOPES, child_blocks, is_yield, walk_scope
from .classify import Classifier
from .names import Temps
from .pausepoints import PauseSite, number_pause_points
from .scope import ModuleScope
from .symbols import Symbols, analyze


@dataclass
class FunctionInfo:
    node: ast.FunctionDef
    name: str               # the user's name (`<lambda>` for a lambda)
    qualname: str           # the user's qualified name
    top: ast.stmt           # the module-level statement it is in
    mode: str               # function | generator
    method_of: ast.ClassDef | None = None
    temps: Temps = field(default_factory=Temps)
    sites: list[PauseSite] = field(default_factory=list)   # entry first (number stage)
    key: str = ""

    @property
    def init_self(self) -> str | None:
        """The instance parameter of an `__init__` method, else None."""
        fn = self.node
        params = fn.args.posonlyargs + fn.args.args
        if self.method_of is not None and self.name == "__init__" and params:
            return params[0].arg
        return None


@dataclass
class FunctionUnit:
    """One function going through the function stages, with what they need."""
    info: FunctionInfo
    scope: ModuleScope
    enclosing: set[str]      # names bound by the functions around it
    in_class: bool           # inside a class (a method, or a def in one): super() is rewritten
    filename: str

    @functools.cached_property
    def symbols(self) -> Symbols:
        """The function's own scoping, computed on first use: after the
        prepare stage rewrote `super()` (that adds a use of `__class__`)."""
        fn = self.info.node
        return analyze(ast.Module(body=[fn], type_ignores=[]))[fn]

    @property
    def names(self) -> set[str]:
        own = self.symbols
        return own.locals | own.cells | own.frees | own.nonlocals

    @functools.cached_property
    def classifier(self) -> Classifier:
        return Classifier(self.scope, self.enclosing | self.names)

    @property
    def stable(self) -> set[str]:
        """Module names no call in the function can rebind."""
        return self.scope.stable - self.enclosing - self.names - self.symbols.globals


FunctionStep = Callable[[FunctionUnit], None]


def is_generator(fn: ast.FunctionDef) -> bool:
    return any(is_yield(n) for stmt in fn.body for n in walk_scope(stmt))


class Shaper:
    def __init__(self, scope: ModuleScope, filename: str, steps: Sequence[FunctionStep]) -> None:
        self.scope = scope
        self.filename = filename
        self.steps = steps
        self.functions: list[FunctionInfo] = []

    def module(self, tree: ast.Module) -> list[FunctionInfo]:
        for top in tree.body:
            self._visit(top, [], top, set(), None)
        _assign_keys(self.functions)
        return self.functions

    def _visit(self, stmt, path, top, enclosing, cls):
        """path: [(name, kind)] of the scopes around `stmt`."""
        if isinstance(stmt, ast.FunctionDef):
            self._shape(stmt, path, top, enclosing, cls)
        elif isinstance(stmt, ast.ClassDef):
            for s in stmt.body:
                self._visit(s, path + [(_user_name(stmt), "class")], top, enclosing, stmt)
        elif not isinstance(stmt, SCOPES):
            for block in child_blocks(stmt):
                for s in block:
                    self._visit(s, path, top, enclosing, None)

    def _shape(self, fn, path, top, enclosing, cls):
        name = _user_name(fn)
        parts = []
        for scope_name, kind in path:
            parts += [scope_name] + (["<locals>"] if kind == "function" else [])
        mode = "generator" if is_generator(fn) else "function"
        info = FunctionInfo(fn, name, ".".join(parts + [name]), top, mode, cls)
        self.functions.append(info)
        unit = FunctionUnit(info, self.scope, enclosing, any(kind == "class" for _, kind in path), self.filename)
        for step in self.steps:
            step(unit)
        inner = enclosing | unit.symbols.locals | unit.symbols.cells
        for stmt in fn.body:
            self._visit(stmt, path + [(name, "function")], top, inner, None)


def _user_name(node):
    return getattr(node, "kappa_name", node.name)


def _assign_keys(functions):
    """Keys: the qualified name without `<locals>`; `@line` if not unique."""
    base = []
    for info in functions:
        key = info.qualname.replace(".<locals>", "").replace("<lambda>", "lambda").replace("<genexpr>", "genexpr")
        base.append(key)
    for info, key in zip(functions, base):
        info.key = key if base.count(key) == 1 else f"{key}@{info.node.lineno}"
    seen = {}
    for info in functions:   # two lambdas on one line
        seen[info.key] = seen.get(info.key, 0) + 1
        if seen[info.key] > 1:
            info.key = f"{info.key}.{seen[info.key]}"


def shape_module(tree: ast.Module, scope: ModuleScope, filename: str,
                 steps: Sequence[FunctionStep]) -> list[FunctionInfo]:
    """Run `steps` on every function of the module, outer functions first."""
    return Shaper(scope, filename, steps).module(tree)


def number_all(functions: list[FunctionInfo], filename: str) -> None:
    for info in functions:
        info.sites = number_pause_points(info.node, info.key, info.name, info.mode, filename)


def make_positions_unique(functions: list[FunctionInfo]) -> None:
    """Every suspension needs a source position of its own (the runtime finds
    the pause point from it): f-string quirks can repeat one, and a call the
    compiler generated can share its user call's place, and so can a
    decorator whose value was stored in a temporary. Move the others to
    unused columns on the same line (tracebacks show lines only)."""
    spare = [100000]

    def move(node):
        spare[0] += 1
        node.col_offset, node.end_col_offset = spare[0], spare[0] + 1
        return _where(node)

    seen = set()
    sites = set()
    for info in functions:
        for site in info.sites[1:]:
            where = _where(site.node)
            while where in seen:
                where = move(site.node)
            seen.add(where)
            sites.add(id(site.node))
    for info in functions:
        for node in ast.walk(info.node):
            # ... and statements the interpreter makes calls at (a with's
            # __exit__, a class's __build_class__, an assert's error)
            if isinstance(node, (ast.Call, ast.Yield, ast.YieldFrom, ast.With, ast.ClassDef, ast.Assert)) \
                    and id(node) not in sites and _where(node) in seen:
                move(node)
            # the interpreter applies a decorator at the decorator's position
            for decorator in getattr(node, "decorator_list", ()):
                if id(decorator) not in sites and _where(decorator) in seen:
                    move(decorator)


def _where(node):
    return (node.lineno, node.end_lineno, node.col_offset, node.end_col_offset)
