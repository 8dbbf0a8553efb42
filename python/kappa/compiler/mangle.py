"""The mangle stage: private name mangling, done explicitly.

Inside a class, CPython renames `__x` to `_Class__x` (names, attributes,
parameters). A method's continuations live outside the class, where no
mangling happens, so the compiler mangles the class's code itself first;
CPython leaves already mangled names alone. A def whose name changes keeps
its user name in `kappa_name` (code objects are renamed back later).
"""

import ast


def mangled(name, cls):
    """CPython's _Py_Mangle."""
    if not name.startswith("__") or name.endswith("__") or "." in name:
        return name
    stripped = cls.lstrip("_")
    return f"_{stripped}{name}" if stripped else name


class _Mangler(ast.NodeVisitor):
    def __init__(self, cls):
        self.cls = cls

    def m(self, name):
        return mangled(name, self.cls)

    def visit_Name(self, node):
        node.id = self.m(node.id)

    def visit_Attribute(self, node):
        node.attr = self.m(node.attr)
        self.visit(node.value)

    def visit_arg(self, node):
        node.arg = self.m(node.arg)
        self.generic_visit(node)

    def visit_alias(self, node):
        if node.asname:
            node.asname = self.m(node.asname)
        elif "." not in node.name and node.name != "*":
            new = self.m(node.name)
            node.asname = new if new != node.name else None

    def visit_ExceptHandler(self, node):
        if node.name:
            node.name = self.m(node.name)
        self.generic_visit(node)

    def _names(self, node):
        node.names = [self.m(n) for n in node.names]

    visit_Global = visit_Nonlocal = _names

    def _capture(self, node):
        for field in ("name", "rest"):
            value = getattr(node, field, None)
            if value:
                setattr(node, field, self.m(value))
        self.generic_visit(node)

    visit_MatchAs = visit_MatchStar = visit_MatchMapping = _capture

    def _rename_def(self, node):
        new = self.m(node.name)
        if new != node.name:
            node.kappa_name = getattr(node, "kappa_name", node.name)
            node.name = new

    def visit_FunctionDef(self, node):
        self._rename_def(node)
        self.generic_visit(node)

    def visit_ClassDef(self, node):
        self._rename_def(node)
        for n in node.decorator_list + node.bases + node.keywords:
            self.visit(n)
        inner = _Mangler(node.kappa_name if hasattr(node, "kappa_name") else node.name)
        for stmt in node.body:
            inner.visit(stmt)


def mangle_module(tree: ast.Module) -> None:
    """Mangle private names inside every class of the module, in place."""
    for stmt in tree.body:
        _visit_outside(stmt)


def _visit_outside(node):
    """Find classes outside any class (their bodies set the mangling name)."""
    if isinstance(node, ast.ClassDef):
        inner = _Mangler(node.name)
        for stmt in node.body:
            inner.visit(stmt)
        for n in node.decorator_list + node.bases + node.keywords:
            _visit_outside(n)
        return
    for child in ast.iter_child_nodes(node):
        _visit_outside(child)
