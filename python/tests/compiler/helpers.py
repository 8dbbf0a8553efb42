"""Run single compiler passes on small sources."""

import ast
import textwrap

from kappa.compiler.classify import classifier_for, mark_function
from kappa.compiler.flatten import flatten_function
from kappa.compiler.liveness import function_liveness
from kappa.compiler.pausepoints import number_pause_points
from kappa.compiler.scope import function_locals, module_functions, module_scope


def dedent(source):
    return textwrap.dedent(source).lstrip("\n")


def classified(source):
    """Parse and classify; return (tree, [function nodes])."""
    tree = ast.parse(dedent(source))
    scope = module_scope(tree)
    functions = [fn for fn, _ in module_functions(tree)]
    for fn in functions:
        mark_function(fn, classifier_for(scope, fn))
    return tree, functions


def flattened(source):
    """The module with every function flattened (not wrapped): exec-able."""
    tree, functions = classified(source)
    for fn in functions:
        fn.body = flatten_function(fn, function_locals(fn))
    ast.fix_missing_locations(tree)
    return tree


def live_sets(source, name=None):
    """{pause id: set of live names} of one function (the first by default)."""
    tree, functions = classified(source)
    fn = functions[0] if name is None else next(f for f in functions if f.name == name)
    local_names = function_locals(fn)
    fn.body = flatten_function(fn, local_names)
    sites = number_pause_points(fn, fn.name)
    local_names |= {n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    entry, at_pause = function_liveness(fn.body, local_names)
    result = {pp: set(names) for pp, names in at_pause.items()}
    result[sites[0].id] = set(entry)
    return result
