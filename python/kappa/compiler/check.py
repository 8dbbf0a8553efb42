"""Reject what the MVP compiler does not support, with a one-line message.

The table UNSUPPORTED lists every rejected construct inside a compiled
function. Supporting a construct later means deleting its row (and teaching
the later passes about it). Each row: (key, node types, label, hint, test),
where `test(node)` says whether this particular node is rejected.
"""

import ast
from collections import namedtuple

from .astutil import contains_pause, is_pausing_call, is_reserved
from .errors import CompileError

Rule = namedtuple("Rule", "key types construct hint test")

_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_ALWAYS = lambda node: True  # noqa: E731
_PLANNED = "planned for a later compiler version; for now "


def _comprehension_pauses(node):
    # The first iterable runs in the function itself and may pause.
    first = node.generators[0].iter
    return any(is_pausing_call(n) for n in ast.walk(node)
               if not _inside(n, first))


def _inside(node, root):
    return any(n is node for n in ast.walk(root))


def _unpacking_target_pauses(node):
    targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
    return any(isinstance(t, (ast.Tuple, ast.List, ast.Starred)) and contains_pause(t)
               for t in targets)


def _for_target_pauses(node):
    return contains_pause(node.target)


def _annotated_target_pauses(node):
    return node.value is None and contains_pause(node)


UNSUPPORTED = [
    Rule("try", (ast.Try, ast.TryStar), "try statement inside a function",
         _PLANNED + "move the try statement into a method of a module-level class "
         "(methods are not compiled and must not pause)", _ALWAYS),
    Rule("with", (ast.With,), "with statement inside a function",
         _PLANNED + "call __enter__/__exit__ explicitly or move the block into a "
         "method of a module-level class", _ALWAYS),
    Rule("nested-def", (ast.FunctionDef,), "nested function definition",
         "define the function at module level and pass what it needs as arguments",
         _ALWAYS),
    Rule("nested-class", (ast.ClassDef,), "class definition inside a function",
         "define the class at module level", _ALWAYS),
    Rule("async", (ast.AsyncFunctionDef, ast.AsyncFor, ast.AsyncWith, ast.Await),
         "async/await", "use kappa spawn and wait for concurrency", _ALWAYS),
    Rule("global", (ast.Global, ast.Nonlocal), "global/nonlocal declaration",
         "keep shared state in a module-level mutable object (a dict or list) and "
         "mutate it instead of rebinding the name", _ALWAYS),
    Rule("yield", (ast.Yield, ast.YieldFrom), "generator (yield)",
         "return a list instead, or spawn tasks and wait for them", _ALWAYS),
    Rule("match", (ast.Match,), "match statement", "use if/elif/else", _ALWAYS),
    Rule("lambda-pause", (ast.Lambda,), "lambda containing a pausing call",
         "use a module-level def and call it directly", contains_pause),
    Rule("walrus-pause", (ast.NamedExpr,), "assignment expression (:=) containing a pausing call",
         "assign the call's result in its own statement first", contains_pause),
    Rule("comprehension-pause", _COMPREHENSIONS,
         "pausing call inside a comprehension or generator expression",
         "write it as a for loop that appends to a list", _comprehension_pauses),
    Rule("unpack-target-pause", (ast.Assign, ast.Delete),
         "pausing call inside an unpacking target",
         "compute the index into a variable first", _unpacking_target_pauses),
    Rule("for-target-pause", (ast.For,), "pausing call inside a for-loop target",
         "compute the index into a variable first", _for_target_pauses),
    Rule("annotation-pause", (ast.AnnAssign,), "pausing call in an annotation without value",
         "assign a value or drop the annotation", _annotated_target_pauses),
]

# Checked over the whole module, not only inside compiled functions.
MODULE_RULES = [
    Rule("module-async", (ast.AsyncFunctionDef,), "async function",
         "use a plain def; use kappa spawn and wait for concurrency", _ALWAYS),
]

RESERVED_HINT = "rename it: names starting with __k_ and the name __kappa__ are reserved for the compiler"


def check_module(tree, filename, functions):
    """Raise CompileError for the first unsupported construct in source order.

    `functions` are the compiled module-level defs, already classified.
    """
    problems = []
    for node in ast.walk(tree):
        problems.extend(_reserved(node))
        problems.extend(_matching(node, MODULE_RULES))
    for fn in functions:
        for stmt in fn.body:
            for node in ast.walk(stmt):
                problems.extend(_matching(node, UNSUPPORTED))
    if problems:
        node, construct, hint = min(problems, key=lambda p: (p[0].lineno, p[0].col_offset))
        raise CompileError.at(filename, node, construct, hint)


def _matching(node, rules):
    for rule in rules:
        if isinstance(node, rule.types) and rule.test(node):
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
