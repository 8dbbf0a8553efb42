"""The classify stage: which call sites may pause."""

import pytest

from kappa.compiler import api_names

from .helpers import classify_source, dedent

PROGRAM = """
import math
import json as j
import kappa
import kappa.runtime
import kappa as k
import rt
from kappa import spawn, Future
from kappa.runtime import checkpoint as cp
from os.path import join
from functools import reduce

ALIAS = None
len_table = {}

class Node:
    def visit(self):
        return 1

def helper(x):
    return x

def f(fn, obj, xs):
    import kappa.runtime as krt
    local = helper
    CALLS
"""

CASES = [
    # program functions and classes
    ("helper(1)", True),
    ("Node()", True),
    # calls through locals and parameters
    ("fn(1)", True),
    ("local(1)", True),
    # module-level variables could hold anything
    ("ALIAS(1)", True),
    # not a plain name or attribute
    ("helper(1)(2)", True),
    ("len_table[0](1)", True),
    # methods: by attribute name
    ("obj.visit()", True),
    ("obj.helper()", True),
    ("obj.wait()", True),
    ("obj.enqueue(1)", True),
    ("obj.dequeue()", True),
    ("obj.strip()", False),
    ("xs.append(1)", False),
    # the Kappa API, however it is imported
    ("cp()", True),
    ("spawn(helper, (1,))", True),
    ("Future(1, 2)", False),
    ("kappa.checkpoint()", True),
    ("kappa.runtime.checkpoint()", True),
    ("kappa.spawn_many(helper)", True),
    ("k.wait()", True),
    ("k.map_spawn(helper, xs)", True),
    ("rt.create_queue(1)", True),
    ("rt.call_external(helper)", True),
    ("krt.pause()", True),
    ("kappa.Future(1, 2)", False),
    # builtins and other modules
    ("len(xs)", False),
    ("print(1)", False),
    ("sorted(xs)", False),
    ("range(3)", False),
    ("math.sqrt(2)", False),
    ("j.dumps(xs)", False),
    ("join('a', 'b')", False),
    ("reduce(helper, xs)", False),
    # unknown names are assumed to pause
    ("undefined_function(1)", True),
]


@pytest.mark.parametrize("call,pauses", CASES)
def test_call_classification(call, pauses):
    result = classify_source(dedent(PROGRAM).replace("CALLS", call))
    calls = dict(result["f"])
    assert calls[call] is pauses


def test_shadowed_builtin_pauses():
    source = dedent("""
        def len(x):
            return 0

        def f(xs):
            return len(xs)

        def g(xs, print):
            print(xs)
            sorted(xs)
    """)
    result = classify_source(source)
    assert result["f"] == [("len(xs)", True)]
    assert dict(result["g"]) == {"print(xs)": True, "sorted(xs)": False}


def test_local_shadowing_a_module_is_a_method_call():
    source = dedent("""
        import math

        def f(math):
            return math.sqrt(2)

        def g():
            return math.sqrt(2)
    """)
    result = classify_source(source)
    assert result["f"] == [("math.sqrt(2)", False)]   # `sqrt` is not a program function
    assert result["g"] == [("math.sqrt(2)", False)]


def test_api_lists_are_shared():
    assert "checkpoint" in api_names.PAUSING_FUNCTIONS
    assert api_names.PAUSING_METHODS == {"wait", "enqueue", "dequeue"}
    assert api_names.is_api_module("kappa.runtime")
    assert api_names.is_api_module("rt")
    assert not api_names.is_api_module("kappalike")
