"""Python's scoping rules: which names of a function are locals, cells and
free variables (what CPython's symtable computes, here on our own AST so
it can run after the compiler has added names and functions).

A continuation must treat a function's cell and free variables as cells
(the closures made before the pause share them), so the stages need the
exact sets: `analyze(tree)` maps every def and lambda node to its Symbols.
"""

import ast
from dataclasses import dataclass, field

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


@dataclass
class Symbols:
    locals: set = field(default_factory=set)     # bound here, not cells
    cells: set = field(default_factory=set)      # bound here, used by nested scopes
    frees: set = field(default_factory=set)      # from an enclosing function
    globals: set = field(default_factory=set)    # declared `global`
    nonlocals: set = field(default_factory=set)  # declared `nonlocal`

    @property
    def closure(self):
        """Every name that lives in a cell of this function's frame."""
        return self.cells | self.frees

    @property
    def plain_locals(self):
        return self.locals


class _Scope:
    def __init__(self, node, kind, parent):
        self.node, self.kind, self.parent = node, kind, parent
        self.bound, self.used = set(), set()
        self.globals, self.nonlocals = set(), set()
        self.children = []
        if parent is not None:
            parent.children.append(self)


class _Collector(ast.NodeVisitor):
    """Builds the scope tree: bindings, uses and declarations per scope."""

    def __init__(self, root, lazy_annotations):
        self.scope = _Scope(root, "module", None)
        self.root = self.scope
        self.lazy_annotations = lazy_annotations   # `from __future__ import annotations`

    def _annotation(self, node):
        if node is not None and not self.lazy_annotations:
            self.visit(node)

    def visit_AnnAssign(self, node):
        self.visit(node.target)
        self._annotation(node.annotation)
        if node.value is not None:
            self.visit(node.value)

    def _in(self, scope, nodes):
        saved, self.scope = self.scope, scope
        for n in nodes:
            self.visit(n)
        self.scope = saved

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load):
            self.scope.used.add(node.id)
            if node.id == "super" and self.scope.kind == "function":
                self.scope.used.add("__class__")
        else:
            self.scope.bound.add(node.id)

    def visit_Global(self, node):
        self.scope.globals.update(node.names)

    def visit_Nonlocal(self, node):
        self.scope.nonlocals.update(node.names)

    def _bind_alias(self, node):
        for alias in node.names:
            if alias.name != "*":
                self.scope.bound.add(alias.asname or alias.name.split(".")[0])

    visit_Import = visit_ImportFrom = _bind_alias

    def visit_ExceptHandler(self, node):
        if node.name:
            self.scope.bound.add(node.name)
        self.generic_visit(node)

    def _capture(self, node):
        if getattr(node, "name", None):
            self.scope.bound.add(node.name)
        if getattr(node, "rest", None):
            self.scope.bound.add(node.rest)
        self.generic_visit(node)

    visit_MatchAs = visit_MatchStar = visit_MatchMapping = _capture

    def visit_NamedExpr(self, node):
        self.visit(node.value)
        scope = self.scope
        while scope.kind == "comprehension":   # PEP 572: binds outside the comprehension
            scope = scope.parent
        scope.bound.add(node.target.id)
        if scope is not self.scope:
            inner = self.scope.nonlocals if scope.kind == "function" else self.scope.globals
            inner.add(node.target.id)

    def _function(self, node):
        if not isinstance(node, ast.Lambda):
            self.scope.bound.add(node.name)
            for d in node.decorator_list:
                self.visit(d)
            self._annotation(node.returns)
        a = node.args
        for d in a.defaults + [d for d in a.kw_defaults if d is not None]:
            self.visit(d)
        params = a.posonlyargs + a.args + a.kwonlyargs + [x for x in (a.vararg, a.kwarg) if x]
        for p in params:
            self._annotation(p.annotation)
        scope = _Scope(node, "function", self.scope)
        scope.bound.update(p.arg for p in params)
        self._in(scope, node.body if isinstance(node.body, list) else [node.body])

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_ClassDef(self, node):
        self.scope.bound.add(node.name)
        for n in node.decorator_list + node.bases + [k.value for k in node.keywords]:
            self.visit(n)
        self._in(_Scope(node, "class", self.scope), node.body)

    def _comprehension(self, node):
        self.visit(node.generators[0].iter)
        scope = _Scope(node, "comprehension", self.scope)
        parts = []
        for i, gen in enumerate(node.generators):
            parts += [gen.target] + ([] if i == 0 else [gen.iter]) + gen.ifs
        parts += [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        self._in(scope, parts)

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension


def _resolve(scope, visible, out):
    """Fill `out` (node -> Symbols) for function scopes under `scope`;
    `visible` are names bound by enclosing function scopes. Returns the
    names `scope` needs from its enclosing scopes (its free variables)."""
    is_function = scope.kind in ("function", "comprehension")
    local = (scope.bound - scope.globals - scope.nonlocals) if is_function else set()
    if is_function:
        inner = (visible - scope.globals) | local
    elif scope.kind == "class":
        inner = (visible - scope.globals) | {"__class__"}
    else:
        inner = set()
    wanted = set()
    for child in scope.children:
        wanted |= _resolve(child, inner, out)
    free = set(scope.nonlocals)
    if is_function:
        for name in (scope.used | scope.bound) - local - scope.globals:
            if name in visible:
                free.add(name)
    elif scope.kind == "class":   # a class body reads enclosing function locals too
        free |= (scope.used - scope.bound - scope.globals) & visible
    cells = set()
    for name in wanted:
        if is_function and name in local:
            cells.add(name)
        elif scope.kind == "class" and name == "__class__":
            continue
        elif name in visible and name not in scope.globals:
            free.add(name)
    if is_function and isinstance(scope.node, _FUNCTIONS):
        out[scope.node] = Symbols(locals=local - cells, cells=cells, frees=free,
                                  globals=set(scope.globals), nonlocals=set(scope.nonlocals))
    return free


def analyze(tree: ast.AST) -> dict[ast.AST, Symbols]:
    """{def or lambda node: Symbols} for every function in the module."""
    lazy = any(isinstance(s, ast.ImportFrom) and s.module == "__future__"
               and any(a.name == "annotations" for a in s.names) for s in tree.body)
    collector = _Collector(tree, lazy)
    for stmt in tree.body:
        collector.visit(stmt)
    out = {}
    _resolve(collector.root, set(), out)
    return out
