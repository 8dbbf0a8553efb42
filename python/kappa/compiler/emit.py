"""The emit stage: continuations, live sets and wrapping for every function
(innermost first, so that a function's continuations copy nested defs
that are already compiled), and the module-level code that registers the
pause points.
"""

import ast
from dataclasses import dataclass

from .ast_builders import load
from .ast_queries import Position, all_statements, child_blocks, mentioned_names, position
from .continuations import continuation_name, find_paths, make_continuation, rest_of
from .liveness import live_in
from .names import CONTINUATION_PARAMS, SUB_VAR
from .pausepoints import PauseSite
from .shapes import FunctionInfo
from .symbols import Symbols
from .wrap import (
    add_generator_prelude,
    cells_prelude,
    declarations,
    entry_position,
    factory,
    factory_name,
    registration,
    wrap_continuation,
    wrap_function,
)


@dataclass
class Point:
    """A pause point as the runtime registers it."""
    site: PauseSite
    live: frozenset[str]     # plain variables saved
    cells: frozenset[str]    # cell variables saved
    info: FunctionInfo

    def spec(self):
        s = self.site
        return (s.id, s.function, tuple(sorted(self.live)), s.line, tuple(sorted(self.cells)), s.kind,
                self.info.init_self, s.call_attr, self.info.qualname)


def _strip_declarations(stmts):
    """A continuation declares its globals and nonlocals once, first."""
    for stmt in all_statements(stmts):
        for block in child_blocks(stmt):
            block[:] = [s for s in block if not isinstance(s, (ast.Global, ast.Nonlocal))]
    return [s for s in stmts if not isinstance(s, (ast.Global, ast.Nonlocal))]


class Emitter:
    def __init__(self, symbols: dict[ast.AST, Symbols], auto_pauses: bool = True) -> None:
        self.symbols = symbols
        self.auto_pauses = auto_pauses   # emit the entry checks (automatic pause points)
        self.points: list[Point] = []   # every Point, in function order
        self.after = {}                 # id(top statement) -> module-level statements to add after it
        self.renames = {}               # generated def name -> (user name, user qualname or None)
        self.factories = set()

    def function(self, info: FunctionInfo) -> None:
        fn = info.node
        sym = self.symbols[fn]
        closure = sorted(sym.cells | sym.frees)
        plain = (sym.locals - CONTINUATION_PARAMS) | ({SUB_VAR} if info.mode == "generator" else set())
        paths = find_paths(fn.body)
        conts, points = [], []
        decls = declarations(sym.globals, closure, fn)
        for n, site in enumerate(info.sites):
            rest = _strip_declarations(rest_of(fn, site, paths, info.mode))
            live = set(live_in(rest, plain))
            cells = mentioned_names(ast.Module(body=rest, type_ignores=[])) & set(closure)
            if site.kind == "yieldfrom":
                live.add(SUB_VAR)
            if info.init_self:   # a constructor call gets the instance back
                (cells if info.init_self in closure else live).add(info.init_self)
            name = continuation_name(info.key, n)
            if info.mode == "function":
                body = wrap_continuation(rest, closure, site.node or fn)
                prelude = []
            else:
                body, prelude = rest, cells_prelude(closure, fn)
            conts.append(make_continuation(fn, name, live, body, info.mode, decls, prelude))
            self.renames[name] = (info.name, info.qualname)
            points.append(Point(site, frozenset(live), frozenset(cells), info))
        if info.mode == "function":
            wrap_function(fn, closure, self.auto_pauses)
        else:
            add_generator_prelude(fn, closure)
        if getattr(fn, "kappa_name", None):
            self.renames[fn.name] = (fn.kappa_name, None)
        self._place(info, conts, closure, points)

    def _place(self, info, conts, closure, points):
        out = self.after.setdefault(id(info.top), [])
        if closure:
            name = factory_name(info.key)
            self.factories.add(name)
            out.append(factory(name, closure, conts, info.node))
            refs = ast.Call(func=load(name, info.node), args=[], keywords=[])
            refs.kappa_pause = False
        else:
            out.extend(conts)
            refs = ast.Tuple(elts=[load(c.name, info.node) for c in conts], ctx=ast.Load())
        out.append((refs, points, info.node))
        self.points.extend(points)

    def module_statements(self, top: ast.stmt) -> list[ast.stmt]:
        """What goes after module-level statement `top`: continuations, then registrations."""
        out = []
        for item in self.after.get(id(top), []):
            if isinstance(item, tuple):
                refs, points, like = item
                out.append(registration(refs, tuple(p.spec() for p in points), like))
            else:
                out.append(item)
        return out


def site_positions(points: list[Point]) -> tuple[dict[Position, str], dict[Position, str], dict[Position, str]]:
    """(calls, entries, yields): {source position: pause id} of the pausing
    calls, the entry checks and the yields."""
    calls, entries, yields = {}, {}, {}
    for p in points:
        s = p.site
        if s.kind == "call":
            calls[position(s.node)] = s.id
        elif s.kind == "entry":
            entries[position(entry_position(p.info.node))] = s.id
        elif s.kind in ("yield", "yieldfrom"):
            yields[position(s.node)] = s.id
    return calls, entries, yields

