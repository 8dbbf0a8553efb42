"""Classify call sites: which calls may pause.

A call may pause if it can reach compiled code or the Kappa API. Deciding
too many calls pause only costs code size (the wrapper is free on the normal
path); deciding too few is caught at run time as a PauseError. So unknown
callees are treated as pausing.
"""

import ast
import builtins

from . import api_names
from .scope import function_imports, function_locals, module_scope

_BUILTINS = frozenset(dir(builtins))


class Classifier:
    """Answers `pauses(call)` for calls inside one compiled function."""

    def __init__(self, scope, local_names, local_imports):
        self.scope = scope
        self.locals = local_names
        self.local_imports = local_imports

    def pauses(self, call):
        func = call.func
        if isinstance(func, ast.Name):
            return self._name_pauses(func.id)
        if isinstance(func, ast.Attribute):
            return self._attribute_pauses(func)
        return True  # f()(), d[k](), (a or b)(): the callee could be anything

    def _binding(self, name):
        """What `name` refers to: ('local'|'import'|'defined'|'assigned'|
        'builtin'|'unknown', import target or None)."""
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

    def _name_pauses(self, name):
        kind, target = self._binding(name)
        if kind == "import":
            if isinstance(target, tuple):  # from module import attr
                module, attr = target
                return api_names.is_api_module(module) and attr in api_names.PAUSING_FUNCTIONS
            return False  # calling a module object: not ours
        return kind != "builtin"

    def _attribute_pauses(self, func):
        path = _dotted(func)
        if path is not None:
            kind, target = self._binding(path[0])
            if kind == "import":
                module = target if isinstance(target, str) else ".".join(target)
                dotted = ".".join([module] + path[1:-1])
                if api_names.is_api_module(dotted):
                    return path[-1] in api_names.PAUSING_FUNCTIONS
                return False  # math.sqrt, json.dumps, os.path.join
        attr = func.attr
        return (attr in self.scope.all_function_names
                or attr in api_names.PAUSING_METHODS)


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


def classifier_for(scope, fn):
    return Classifier(scope, function_locals(fn), function_imports(fn))


def mark_function(fn, classifier):
    """Set `kappa_pause` on every call in fn's body; return how many pause."""
    count = 0
    for stmt in fn.body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Call):
                node.kappa_pause = classifier.pauses(node)
                count += node.kappa_pause
    return count


def classify_source(source):
    """Test helper: {function name: [(call source, pauses)]} in source order."""
    tree = ast.parse(source)
    scope = module_scope(tree)
    out = {}
    for fn in tree.body:
        if isinstance(fn, ast.FunctionDef):
            c = classifier_for(scope, fn)
            calls = [n for s in fn.body for n in ast.walk(s) if isinstance(n, ast.Call)]
            calls.sort(key=lambda n: (n.lineno, n.col_offset))
            out[fn.name] = [(ast.unparse(n), c.pauses(n)) for n in calls]
    return out


__all__ = ["Classifier", "classifier_for", "mark_function", "classify_source"]
