"""What each corpus program needs from the compiler that it may not have yet.

A program listed in NEEDS runs under xfail(strict=True): the day the
compiler supports what it needs, its test passes, the strict xfail turns
that into a failure, and the entry must be deleted from here. Programs not
listed must pass today.
"""

import pytest

NEEDS = {
    "calling_conventions": "walrus around pausing calls, pausing calls in f-string format specs",
    "classes_inventory": "pausing inside methods and super() calls",
    "classes_shapes": "pausing inside methods, pausing calls in f-string format specs, "
                      "builtins over pausing generator expressions",
    "closures_decorators": "nested functions, closures/nonlocal, decorators, lambdas",
    "closures_events": "nested functions, closures, decorators, pausing lambdas",
    "comprehensions_pausing": "comprehensions and generator expressions with pausing elements",
    "exceptions_retry": "try/except/else/finally",
    "exceptions_with": "with statements",
    "generators_numbers": "generator functions",
    "generators_pipeline": "generator functions (yield, yield from)",
    "globals_registry": "global statements, nested functions (decorator)",
    "interp_lisp": "try/except/finally, nested functions (closures)",
    "match_shapes": "match statements",
    "match_vm": "match statements",
}

# Programs whose failure is a compiler/runtime bug in what the compiler
# already claims to support: they are NOT xfail (see test_corpus.py).
KNOWN_BUGS = {
    "module_state": "class attributes, mutable default arguments and function attributes "
                    "are not restored",
}


def reason(name):
    return f"needs {NEEDS[name]} (issue 3 compiler work)"


def marks(name):
    if name in NEEDS:
        return [pytest.mark.xfail(strict=True, reason=reason(name))]
    return []
