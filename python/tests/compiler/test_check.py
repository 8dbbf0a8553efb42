"""The parse and check stages: syntax errors and unsupported constructs."""

import pytest

from kappa.compiler import CompileError, compile_source
from kappa.compiler.check import UNSUPPORTED

from .helpers import dedent

HEADER = "from kappa.runtime import checkpoint\n\ndef helper(x):\n    return x\n\n"
# Line numbers below are relative to the function body: the def is on line 6.


def compile_error(body, header=HEADER):
    source = header + "def f(a):\n" + "".join("    " + line + "\n" for line in dedent(body).splitlines())
    with pytest.raises(CompileError) as info:
        compile_source(source, "prog.py")
    return info.value


UNSUPPORTED_CASES = [
    # (body, construct in message, line, col)
    ("try:\n    pass\nexcept helper(ValueError):\n    pass", "exception type of an except clause", 9, 5),
    ("yield a\ncheckpoint()", "pause inside a generator body", 8, 5),
    ("g = lambda: (yield 1)", "yield inside a lambda", 7, 9),
]


@pytest.mark.parametrize("body,construct,line,col", UNSUPPORTED_CASES)
def test_unsupported_construct_names_place_and_construct(body, construct, line, col):
    err = compile_error(body)
    message = str(err)
    assert "\n" not in message
    assert message.startswith(f"prog.py:{line}:{col}: unsupported construct: ")
    assert construct in message
    assert (err.filename, err.line, err.col) == ("prog.py", line, col)
    assert construct in err.construct
    assert message.endswith(")") and err.hint in message   # says what to write instead


PAUSING_HELPERS = dedent("""
    import kappa

    def saves(x):
        kappa.checkpoint()
        return x

    def indirect(x):
        return saves(x) + 1

    def quiet(x):
        return x
""")


@pytest.mark.parametrize("call", ["saves(v)", "indirect(v)"])
def test_a_generator_calling_a_function_that_pauses_is_rejected(call):
    source = PAUSING_HELPERS + f"\ndef gen(n):\n    for v in range(n):\n        yield {call}\n"
    with pytest.raises(CompileError) as info:
        compile_source(source, "prog.py")
    line = source.splitlines().index(f"        yield {call}") + 1
    assert str(info.value).startswith(f"prog.py:{line}:15: unsupported construct: call inside a generator body")
    assert "consumes the generator" in str(info.value)


def test_a_generator_calling_functions_that_do_not_pause_compiles():
    body = "\ndef gen(n, saves=quiet):\n    for v in range(n):\n        yield quiet(v) + saves(v)\n"
    compile_source(PAUSING_HELPERS + body, "prog.py")   # `saves` is the parameter here


def test_async_def_at_module_level_is_rejected():
    with pytest.raises(CompileError) as info:
        compile_source("async def f():\n    pass\n", "prog.py")
    assert str(info.value).startswith("prog.py:1:1: unsupported construct: async function")


def test_await_inside_function_is_a_syntax_error_or_rejected():
    with pytest.raises(CompileError):
        compile_source("def f():\n    await g()\n", "prog.py")


def test_syntax_error_is_one_line_with_position():
    with pytest.raises(CompileError) as info:
        compile_source("def f(:\n    pass\n", "bad.py")
    err = info.value
    assert err.is_syntax_error
    assert str(err).startswith("bad.py:1:7: syntax error: ")
    assert "\n" not in str(err)


def test_null_byte_is_a_syntax_error():
    with pytest.raises(CompileError) as info:
        compile_source("x = 1\0\n", "bad.py")
    assert "syntax error" in str(info.value)


def test_pausing_call_in_a_format_spec_compiles():
    source = HEADER + "def f(a):\n    return f'{a:{helper(5)}}'\n"
    assert compile_source(source, "prog.py").stats.pause_points == 1


def test_first_error_in_source_order_is_reported():
    err = compile_error("g = lambda: (yield 1)\ntry:\n    pass\nexcept helper(E):\n    pass")
    assert err.line == 7 and "lambda" in err.construct


def test_async_inside_a_function_is_rejected():
    with pytest.raises(CompileError) as info:
        compile_source("def f():\n    async def g():\n        pass\n", "prog.py")
    assert "async" in str(info.value)


@pytest.mark.parametrize("name_use", [
    "__k_t1 = 1", "x = __kappa__", "def __k_f():\n    pass", "import os as __k_os", "__k_t1__ = 2",
])
def test_reserved_names_are_rejected_anywhere(name_use):
    with pytest.raises(CompileError) as info:
        compile_source(name_use + "\n", "prog.py")
    assert "reserved name" in str(info.value)
    assert "__k_" in str(info.value)


SUPPORTED = """
import math
from kappa.runtime import checkpoint

LIMIT = 3
try:
    import json
except ImportError:
    json = None

class Point:
    def __init__(self, x):
        try:
            self.x = int(x)
        except ValueError:
            self.x = 0
        with open(__file__) as fh:
            pass

    def norm(self):
        return abs(self.x)

def helper(*args, **kwargs):
    return sum(args) + len(kwargs)

def f(xs, *rest, key=None, **options):
    '''Doc.'''
    import os.path
    total = 0
    assert xs is not None, "xs"
    for i, x in enumerate(xs):
        if i == 0:
            continue
        elif x > 10:
            break
        else:
            total += helper(x, *rest, **options)
    else:
        pass
    while total < 0:
        total += 1
    else:
        total -= 0
    a, (b, c) = 1, (2, 3)
    d = {"k": [1, 2]}
    d["k"][0] += helper(a)
    p = Point(b)
    p.x = helper(c)
    del d["k"]
    ys = sorted(xs, key=lambda v: -v)
    zs = [math.sqrt(v) for v in helper_list(xs)]
    n = (m := len(xs)) + m
    checkpoint()
    return total if total else helper(total)

def helper_list(xs):
    return list(xs)
"""


def test_supported_constructs_compile():
    compiled = compile_source(SUPPORTED, "ok.py")
    assert compiled.stats.functions == 5   # defs and methods; the lambda calls nothing that pauses: kept
    assert compiled.stats.pause_points > 0


def test_check_table_has_unique_keys_and_hints():
    keys = [rule.key for rule in UNSUPPORTED]
    assert len(keys) == len(set(keys))
    assert all(rule.hint for rule in UNSUPPORTED)
