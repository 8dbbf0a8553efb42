"""What module-level names are bound to, and which names a function binds.

(Cells and free variables of nested functions: see symbols.py.)
"""

import ast
import builtins
from dataclasses import dataclass, field

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def parameters(fn):
    a = fn.args
    names = [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs]
    if a.vararg:
        names.append(a.vararg.arg)
    if a.kwarg:
        names.append(a.kwarg.arg)
    return names


class _Binder(ast.NodeVisitor):
    """Collects names bound in one scope, without entering nested scopes."""

    def __init__(self):
        self.names = set()
        self.imports = {}      # name -> module path or (module, attribute)
        self.other = set()     # bound by anything but an import

    def bind(self, name):
        self.names.add(name)
        self.other.add(name)

    def visit_Name(self, node):
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self.bind(node.id)

    def visit_NamedExpr(self, node):
        self.bind(node.target.id)
        self.visit(node.value)

    def visit_Import(self, node):
        for alias in node.names:
            if alias.asname:
                self._import(alias.asname, alias.name)
            else:
                root = alias.name.split(".", 1)[0]
                self._import(root, root)

    def visit_ImportFrom(self, node):
        module = "." * node.level + (node.module or "")
        for alias in node.names:
            if alias.name != "*":
                self._import(alias.asname or alias.name, (module, alias.name))

    def _import(self, name, what):
        self.names.add(name)
        self.imports[name] = what

    def visit_ExceptHandler(self, node):
        if node.name:
            self.bind(node.name)
        self.generic_visit(node)

    def visit_MatchAs(self, node):
        if node.name:
            self.bind(node.name)
        self.generic_visit(node)

    def visit_MatchStar(self, node):
        if node.name:
            self.bind(node.name)

    def visit_MatchMapping(self, node):
        if node.rest:
            self.bind(node.rest)
        self.generic_visit(node)

    def _nested(self, node):
        # A nested def/class binds its name here; its body is its own scope,
        # but decorators, defaults and bases are evaluated here.
        if not isinstance(node, ast.Lambda):
            self.bind(node.name)
            for d in node.decorator_list:
                self.visit(d)
        if isinstance(node, ast.ClassDef):
            for b in node.bases + [k.value for k in node.keywords]:
                self.visit(b)
        else:
            for d in node.args.defaults + [d for d in node.args.kw_defaults if d]:
                self.visit(d)

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = visit_Lambda = _nested

    def _comprehension(self, node):
        # Only the first iterable is evaluated in this scope; a walrus inside
        # binds here too (PEP 572).
        self.visit(node.generators[0].iter)
        for sub in ast.walk(node):
            if isinstance(sub, ast.NamedExpr):
                self.bind(sub.target.id)

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension


def function_locals(fn):
    """The set of local variable names of a function definition."""
    binder = _Binder()
    for stmt in fn.body:
        binder.visit(stmt)
    return set(parameters(fn)) | binder.names


def function_imports(fn):
    """Names of `fn` bound only by import statements: name -> import target."""
    binder = _Binder()
    for stmt in fn.body:
        binder.visit(stmt)
    return {n: w for n, w in binder.imports.items()
            if n not in binder.other and n not in parameters(fn)}


@dataclass
class ModuleScope:
    """What the module's top-level names are bound to."""
    defined: set = field(default_factory=set)       # def/class at module level
    imports: dict = field(default_factory=dict)     # name -> module or (module, attr)
    assigned: set = field(default_factory=set)      # any other module-level binding
    all_function_names: set = field(default_factory=set)  # every def/class anywhere
    # Names a call cannot rebind: builtins the module does not bind, and
    # module names bound once, outside loops, never declared `global` in a
    # function. A pausing call cannot change them, so they need no spill.
    stable: set = field(default_factory=set)
    # Top-level names of the program's own other modules (a directory
    # program's helpers and packages): compiled too, so calls into them may
    # pause, unlike calls into installed modules.
    program_modules: frozenset = frozenset()


def module_scope(tree: ast.Module) -> ModuleScope:
    scope = ModuleScope()
    binder = _Binder()
    for stmt in tree.body:
        binder.visit(stmt)
    for stmt in _module_level_statements(tree.body):
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            scope.defined.add(stmt.name)
    scope.imports = {n: w for n, w in binder.imports.items()}
    scope.assigned = (binder.other - scope.defined)
    declared_global = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            scope.all_function_names.add(node.name)
        elif isinstance(node, ast.Global):
            declared_global.update(node.names)
    scope.assigned |= declared_global   # rebinding from a function
    counts = _binding_counts(tree.body)
    once = {n for n, c in counts.items() if c == 1} - declared_global
    scope.stable = once | (set(dir(builtins)) - set(counts) - declared_global)
    return scope


def _binding_counts(body, in_loop=False):
    """How often each module-level name is bound (a binding in a loop counts twice)."""
    counts = {}
    for stmt in body:
        binder = _Binder()
        if isinstance(stmt, (ast.For, ast.While, ast.AsyncFor)):
            binder.visit(stmt)   # everything in a loop may run many times
            weight = 2
        else:
            for part in _headers(stmt):
                binder.visit(part)
            weight = 2 if in_loop else 1
        for name in binder.names:
            counts[name] = counts.get(name, 0) + weight
        if not isinstance(stmt, (_SCOPES, ast.For, ast.While, ast.AsyncFor)):
            for block in _blocks(stmt):
                for name, c in _binding_counts(block, in_loop).items():
                    counts[name] = counts.get(name, 0) + c
    return counts


def _headers(stmt):
    """The parts of a module-level statement that bind names itself."""
    if isinstance(stmt, _SCOPES) or not _blocks(stmt):
        return [stmt]
    if isinstance(stmt, (ast.With, ast.AsyncWith)):
        return stmt.items
    if isinstance(stmt, (ast.Try, ast.TryStar)):
        return [ast.Pass()] + [ast.ExceptHandler(type=None, name=h.name, body=[]) for h in stmt.handlers]
    if isinstance(stmt, ast.Match):
        return [stmt.subject] + [c.pattern for c in stmt.cases]
    return [stmt.test] if hasattr(stmt, "test") else []


def _blocks(stmt):
    blocks = [getattr(stmt, name, None) or [] for name in ("body", "orelse", "finalbody")]
    blocks += [h.body for h in getattr(stmt, "handlers", []) or []]
    blocks += [c.body for c in getattr(stmt, "cases", []) or []]
    return [b for b in blocks if b]


def _module_level_statements(body):
    """Statements that run at module level, through if/for/while/try/with."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, _SCOPES):
            continue
        for block in _blocks(stmt):
            yield from _module_level_statements(block)
