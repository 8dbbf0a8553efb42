"""The check stage: reject what the compiler does not support, with a
one-line message.

The table UNSUPPORTED lists every rejected construct inside a compiled
function. Supporting a construct later means deleting its row (and teaching
the later stages about it). Each row: (key, node types, label, hint, test),
where `test(node, context)` says whether this particular node is rejected.
"""

import ast
from collections import namedtuple

from . import api_names
from .ast_queries import contains_pause, is_yield, walk_scope
from .errors import CompileError
from .names import is_reserved
from .scope import ModuleScope, function_locals

Rule = namedtuple("Rule", "key types construct hint test")

_ALWAYS = lambda node, ctx: True  # noqa: E731


def _pausing_handler_type(node, ctx):
    return node.type is not None and contains_pause(node.type)


def _explicit_pause_in_generator(node, ctx):
    """A call of the Kappa API's pausing functions directly in a generator."""
    return ctx.generator and node.kappa_pause and ctx.is_api_pause(node)


def _pausing_function_in_generator(node, ctx):
    """A call in a generator of a module-level function that reaches an
    explicit pause (checkpoint(), spawn, wait...) through module-level
    functions. (Calls the compiler cannot follow, such as methods, are
    checked when they run: a PauseError naming the line.)"""
    return (ctx.generator and isinstance(node.func, ast.Name) and node.func.id not in ctx.local_names
            and node.func.id in ctx.pausing_functions)


def _yield_in_lambda(node, ctx):
    return any(is_yield(n) for n in walk_scope(node.body))


UNSUPPORTED = [
    Rule("async", (ast.AsyncFunctionDef, ast.AsyncFor, ast.AsyncWith, ast.Await),
         "async/await", "use kappa spawn and wait for concurrency", _ALWAYS),
    Rule("handler-type-pause", (ast.ExceptHandler,),
         "pausing call in the exception type of an except clause",
         "compute the exception type into a variable before the try statement",
         _pausing_handler_type),
    Rule("generator-pause", (ast.Call,), "pause inside a generator body",
         "a generator is checkpointed between items, not while it runs: make the pausing "
         "call in the code that consumes the generator", _explicit_pause_in_generator),
    Rule("generator-pausing-call", (ast.Call,),
         "call inside a generator body of a function that pauses (it makes a checkpoint or a "
         "Kappa call that pauses)",
         "a generator is checkpointed between items, not while it runs (CPython cannot save a "
         "running generator frame): make the pausing call in the code that consumes the "
         "generator", _pausing_function_in_generator),
]

# Checked over the whole module, not only inside compiled functions.
MODULE_RULES = [
    Rule("module-async", (ast.AsyncFunctionDef,), "async function",
         "use a plain def; use kappa spawn and wait for concurrency", _ALWAYS),
    Rule("lambda-yield", (ast.Lambda,), "yield inside a lambda", "use a generator function (def)",
         _yield_in_lambda),
]

RESERVED_HINT = "rename it: names starting with __k_ and the name __kappa__ are reserved for the compiler"


class _Context:
    def __init__(self, generator, imports, local_names=frozenset(), pausing_functions=frozenset()):
        self.generator = generator
        self._imports = imports
        self.local_names = local_names
        self.pausing_functions = pausing_functions

    def is_api_pause(self, call):
        """`checkpoint()` imported from the API, or `kappa.checkpoint()`."""
        func = call.func
        if isinstance(func, ast.Name):
            target = self._imports.get(func.id)
            return (isinstance(target, tuple) and api_names.is_api_module(target[0])
                    and target[1] in api_names.PAUSING_FUNCTIONS)
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            target = self._imports.get(func.value.id)
            return (isinstance(target, str) and api_names.is_api_module(target)
                    and func.attr in api_names.PAUSING_FUNCTIONS)
        return False


def _pausing_functions(tree, scope):
    """Names of the module-level functions that reach an explicit pause
    through calls of module-level functions by name."""
    functions = {s.name: s for s in tree.body if isinstance(s, ast.FunctionDef) and s.name in scope.defined}
    ctx = _Context(False, scope.imports)
    calls = {}
    pausing = set()
    for name, fn in functions.items():
        local = function_locals(fn)
        found = [n for stmt in fn.body for n in walk_scope(stmt) if isinstance(n, ast.Call)]
        if any(ctx.is_api_pause(c) for c in found if not _shadowed(c, local)):
            pausing.add(name)
        calls[name] = {c.func.id for c in found if isinstance(c.func, ast.Name) and c.func.id not in local}
    grew = True
    while grew:
        grew = False
        for name, callees in calls.items():
            if name not in pausing and callees & pausing:
                pausing.add(name)
                grew = True
    return frozenset(pausing)


def _shadowed(call, local):
    func = call.func.value if isinstance(call.func, ast.Attribute) else call.func
    return isinstance(func, ast.Name) and func.id in local


def check_module(tree: ast.Module, filename: str, scope: ModuleScope) -> None:
    """Raise CompileError for the first unsupported construct in source order."""
    problems = []
    pausing = _pausing_functions(tree, scope)
    for node in ast.walk(tree):
        problems.extend(_reserved(node))
        problems.extend(_matching(node, MODULE_RULES, None))
        if isinstance(node, (ast.FunctionDef, ast.Lambda)):
            generator = any(is_yield(n) for s in _body(node) for n in walk_scope(s))
            local = function_locals(node) if generator and isinstance(node, ast.FunctionDef) else frozenset()
            ctx = _Context(generator, scope.imports, local, pausing)
            for stmt in _body(node):
                for sub in walk_scope(stmt):
                    problems.extend(_matching(sub, UNSUPPORTED, ctx))
    if problems:
        node, construct, hint = min(problems, key=lambda p: (p[0].lineno, p[0].col_offset))
        raise CompileError.at(filename, node, construct, hint)


def _body(fn):
    return fn.body if isinstance(fn.body, list) else [fn.body]


def _matching(node, rules, ctx):
    for rule in rules:
        if isinstance(node, rule.types) and rule.test(node, ctx):
            yield node, rule.construct, rule.hint


def _reserved(node):
    names = []
    if isinstance(node, ast.Name):
        names.append(node.id)
    elif isinstance(node, ast.arg):
        names.append(node.arg)
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        names.append(node.name)
    elif isinstance(node, ast.alias):
        names.append(node.asname or node.name.split(".")[0])
    for name in names:
        if is_reserved(name) and getattr(node, "lineno", None) is not None:
            yield node, f"reserved name '{name}'", RESERVED_HINT
