"""Run single compiler passes on small sources."""

import ast
import textwrap

from kappa.compiler import compile_source
from kappa.compiler.classify import Classifier, mark_module
from kappa.compiler.flatten import flatten_function
from kappa.compiler.scope import module_scope
from kappa.compiler.shapes import is_generator
from kappa.compiler.symbols import analyze


def dedent(source):
    return textwrap.dedent(source).lstrip("\n")


def classified(source):
    """Parse and classify; return (tree, [module-level function nodes])."""
    tree = ast.parse(dedent(source))
    mark_module(tree, module_scope(tree))
    return tree, [fn for fn in tree.body if isinstance(fn, ast.FunctionDef)]


def flattened(source):
    """The module with every module-level function flattened (not wrapped): exec-able."""
    tree, functions = classified(source)
    scope = module_scope(tree)
    for fn in functions:
        own = analyze(ast.Module(body=[fn], type_ignores=[]))[fn]
        mode = "generator" if is_generator(fn) else "function"
        fn.body = flatten_function(fn, own.locals, mode=mode, stable=scope.stable - own.locals - own.cells,
                                   classifier=Classifier(scope, own.locals | own.cells))
    ast.fix_missing_locations(tree)
    return tree


def live_sets(source, name=None):
    """{pause id: set of live names} of one function (the first by default)."""
    compiled = compile_source(dedent(source), "prog.py")
    tree = ast.parse(dedent(source))
    name = name or next(fn.name for fn in tree.body if isinstance(fn, ast.FunctionDef))
    return {pp: set(info.live) for pp, info in compiled.pause_points.items()
            if pp.rsplit(":", 1)[0] == name}
