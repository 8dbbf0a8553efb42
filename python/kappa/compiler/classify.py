"""The classify stage: which call sites may pause.

A call may pause if it can reach compiled code or the Kappa API. Deciding
too many calls pause only costs a little (a temporary for what was
evaluated before it); deciding too few is caught at run time as a
PauseError. So unknown callees are treated as pausing; builtins and
functions of imported non-Kappa modules are not, unless the module is one
of the program's own (a directory program's helper or package, or any
relative import): those are compiled and may pause.

Every call in the module is marked (`kappa_pause`), each with the bindings
of the scope it is in: a function's locals and imports, the locals of the
functions around it, the module.
"""

import ast
import builtins

from . import api_names
from .ast_queries import COMPREHENSIONS
from .scope import ModuleScope, function_imports
from .symbols import analyze

_BUILTINS = frozenset(dir(builtins))


class Classifier:
    """Answers `pauses(call)` for calls in one scope."""

    def __init__(self, scope, local_names=(), local_imports=None):
        self.scope = scope
        self.locals = set(local_names)
        self.local_imports = local_imports or {}

    def inner(self, local_names, local_imports=None):
        """The classifier of a scope nested in this one."""
        imports = {n: w for n, w in self.local_imports.items() if n not in local_names}
        imports.update(local_imports or {})
        return Classifier(self.scope, (self.locals - set(imports)) | set(local_names), imports)

    def pauses(self, call):
        func = call.func
        if isinstance(func, ast.Name):
            return self._name_pauses(func.id)
        if isinstance(func, ast.Attribute):
            return self._attribute_pauses(func)
        return True  # f()(), d[k](), (a or b)(): the callee could be anything

    def binding(self, name):
        """What `name` refers to: ('local'|'import'|'program'|'builtin'|
        'unknown', import target or None)."""
        if name in self.local_imports:
            return "import", self.local_imports[name]
        if name in self.locals:
            return "local", None
        s = self.scope
        if name in s.defined or name in s.assigned:
            return "program", None
        if name in s.imports:
            return "import", s.imports[name]
        if name in _BUILTINS:
            return "builtin", None
        return "unknown", None

    def is_builtin(self, name):
        return self.binding(name)[0] == "builtin"

    def _name_pauses(self, name):
        kind, target = self.binding(name)
        if kind == "import":
            if isinstance(target, tuple):  # from module import attr
                module, attr = target
                if self._own_module(module):
                    return True
                return api_names.is_api_module(module) and attr in api_names.PAUSING_FUNCTIONS
            return False  # calling a module object: not ours
        return kind != "builtin"

    def _attribute_pauses(self, func):
        path = _dotted(func)
        if path is not None:
            kind, target = self.binding(path[0])
            if kind == "import":
                module = target if isinstance(target, str) else ".".join(target)
                dotted = ".".join([module] + path[1:-1])
                if api_names.is_api_module(dotted):
                    return path[-1] in api_names.PAUSING_FUNCTIONS
                return self._own_module(dotted)  # math.sqrt, json.dumps, os.path.join: not ours
        attr = func.attr
        return (attr in self.scope.all_function_names
                or attr in api_names.PAUSING_METHODS)


    def _own_module(self, module):
        """A module of the program itself: relative, or under one of its
        top-level names."""
        return module.startswith(".") or module.split(".", 1)[0] in self.scope.program_modules


def _dotted(node):
    """['a', 'b', 'c'] for a.b.c made of names only, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return parts[::-1]


def _params(fn):
    a = fn.args
    return {p.arg for p in a.posonlyargs + a.args + a.kwonlyargs + [x for x in (a.vararg, a.kwarg) if x]}


class _Marker:
    """Walks the module, marking every call with its scope's classifier."""

    def __init__(self, symbols):
        self.symbols = symbols
        self.count = 0

    def visit(self, node, classifier):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            self._function(node, classifier)
            return
        if isinstance(node, ast.ClassDef):
            for part in node.decorator_list + node.bases + node.keywords + node.body:
                self.visit(part, classifier)
            return
        if isinstance(node, COMPREHENSIONS):
            self._comprehension(node, classifier)
            return
        if isinstance(node, ast.Call):
            node.kappa_pause = classifier.pauses(node)
            self.count += node.kappa_pause
        for child in ast.iter_child_nodes(node):
            self.visit(child, classifier)

    def _comprehension(self, node, classifier):
        self.visit(node.generators[0].iter, classifier)
        targets = set()
        for gen in node.generators:
            targets |= {n.id for n in ast.walk(gen.target) if isinstance(n, ast.Name)}
        inner = classifier.inner(targets)
        rest = [p for i, g in enumerate(node.generators)
                for p in ([g.target] + ([] if i == 0 else [g.iter]) + g.ifs)]
        rest += [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        for part in rest:
            self.visit(part, inner)

    def _function(self, fn, classifier):
        for part in (getattr(fn, "decorator_list", []) + fn.args.defaults
                     + [d for d in fn.args.kw_defaults if d is not None]):
            self.visit(part, classifier)
        sym = self.symbols.get(fn)
        names = (sym.locals | sym.cells) if sym else _params(fn)
        imports = function_imports(fn) if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) else {}
        inner = classifier.inner(names, imports)
        for stmt in (fn.body if isinstance(fn.body, list) else [fn.body]):
            self.visit(stmt, inner)


def mark_module(tree: ast.Module, scope: ModuleScope) -> int:
    """Set `kappa_pause` on every call of the module; return how many pause."""
    marker = _Marker(analyze(tree))
    for stmt in tree.body:
        marker.visit(stmt, Classifier(scope))
    return marker.count


__all__ = ["Classifier", "mark_module"]
