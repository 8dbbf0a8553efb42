"""Continuations (the emit stage) resume the rest of a function correctly
from every pause point, including partial loop iterations with
break/continue/else."""

import ast
import traceback

import pytest
from runtime.driver import Every, Policy, run_plain, run_program

from kappa.compiler import compile_source
from kappa.runtime import load_program

from .helpers import dedent

CONTROL_FLOW = dedent("""
    def p(tag, v=None):
        print("p", tag, v)
        return v

    def nested_loops(xs):
        out = []
        for i, x in enumerate(xs):
            if p("skip?", x % 3 == 0):
                continue
            for j in range(x):
                if p("inner-break?", j > 2):
                    break
                out.append(p("j", (i, j)))
            else:
                out.append(p("inner-else", x))
            if p("outer-break?", len(out) > 9):
                break
        else:
            out.append(p("outer-else"))
        return out

    def return_in_loop(n):
        i = 0
        while True:
            i += 1
            if p("ret?", i >= n):
                return p("value", i * 10)
            for k in range(i):
                if p("early?", k == 3):
                    return ("early", k)

    def while_else(n):
        out = []
        for k in range(n):
            m = k
            while p("w", m) > 0:
                m -= 1
                if m == 5:
                    break
            else:
                out.append(p("we", k))
                if k == 2:
                    continue
                if k == 4:
                    break
            out.append(k)
        else:
            out.append("for-else")
        return out

    def while_loops(n):
        total = 0
        while n > 0:
            n -= 1
            if n % 2:
                continue
            total += p("add", n)
            if total > 10:
                break
        else:
            total = -total
        return total

    def main():
        return [nested_loops([1, 3, 4, 5, 2]), nested_loops([3, 6]), return_in_loop(3),
                return_in_loop(6), while_else(4), while_else(7), while_loops(9), while_loops(5)]
""")


class Nth(Policy):
    """Take only the n-th pause opportunity (auto pauses included)."""
    auto = True

    def __init__(self, n):
        self.n, self.seen = n, 0

    def take(self, request):
        self.seen += 1
        return self.seen == self.n


class Counter(Policy):
    auto = True

    def __init__(self):
        self.seen = 0

    def take(self, request):
        self.seen += 1
        return False


def test_resume_from_every_single_pause_point():
    expected = run_plain(CONTROL_FLOW, filename="flow.py")
    assert expected.error_type is None
    counter = Counter()
    assert run_program(CONTROL_FLOW, filename="flow.py", policy=counter).observable() == expected.observable()
    compiled = compile_source(CONTROL_FLOW, "flow.py")
    assert counter.seen > 100
    for n in range(1, counter.seen + 1):
        got = run_program(CONTROL_FLOW, compiled=compiled, filename="flow.py", policy=Nth(n))
        assert got.pauses == 1
        assert got.observable() == expected.observable(), f"pause #{n}"


def continuation_source(source, pp):
    compiled = compile_source(dedent(source), "prog.py")
    key, n = pp.split(":")
    tree = ast.parse(compiled.source)
    fn = next(node for node in tree.body if isinstance(node, ast.FunctionDef)
              and node.name == f"__k_c_{key}_{n}__")
    return ast.unparse(fn)


def test_partial_iteration_without_exits_is_not_wrapped():
    text = continuation_source("""
        def g(x):
            return x
        def f(xs):
            for x in xs:
                g(x)
                print(x)
            return 1
    """, "f:1")
    assert "__k_once" not in text
    assert text.count("for x in __k_it4__:") == 1


def test_partial_iteration_with_break_runs_in_a_single_iteration_loop():
    text = continuation_source("""
        def g(x):
            return x
        def f(xs):
            for x in xs:
                if g(x):
                    break
            else:
                print("else")
            return 1
    """, "f:1")
    lines = [line.strip() for line in text.splitlines()]
    once = lines.index("for __k_once__ in (0,):")
    assert lines[once + 3:once + 5] == ["if __k_value__:", "break"]   # the call's result, in place
    assert lines[once + 5] == "else:"             # continue/normal end: loop again
    assert lines[once + 6] == "for x in __k_it4__:"


def test_continuation_restores_only_live_variables_and_keeps_ids():
    text = continuation_source("""
        def g(x):
            return x
        def f(a, b):
            c = g(a)
            d = g(c)
            return d + b
    """, "f:1")
    assert "'b' in __k_vars__" in text and "'a' in __k_vars__" not in text
    assert "c = __k_value__" in text
    assert "d = g(c)" in text


def test_exception_delivered_to_a_continuation_is_raised_at_the_call_line():
    source = dedent("""
        def g(x):
            return x

        def f(a):
            b = a + 1
            c = g(
                b)
            return c
    """)
    module = load_program(compile_source(source, "prog.py"))
    point = module.__k_pp["f:1"]
    with pytest.raises(KeyError) as info:
        point.resume({"b": 2}, None, KeyError("boom"))
    last = traceback.extract_tb(info.value.__traceback__)[-1]
    assert (last.filename, last.lineno, last.name) == ("prog.py", 6, "f")
    assert point.resume({"b": 2}, 42, None) == 42


def test_variable_unbound_at_the_pause_stays_unbound_after_restore():
    source = dedent("""
        from kappa.runtime import checkpoint

        def f(c):
            if c:
                y = 1
            checkpoint()
            return y

        def main():
            print(f(True))
            return f(False)
    """)
    expected = run_plain(source, filename="u.py")
    assert expected.error_type == "UnboundLocalError"
    got = run_program(source, filename="u.py", policy=Every())
    assert got.pauses >= 4 and got.observable() == expected.observable()


def test_pause_in_an_if_test_resumes_the_test_not_a_pause_in_its_branches():
    # The pause in the test is nested deeper than the one in the else
    # branch: a breadth-first search of the whole `if` found the branch's.
    text = continuation_source("""
        def g(x):
            return x
        def f(x):
            if g(x) % 2 == 0:
                x += 1
            else:
                g(-x)
            return x
    """, "f:1")
    assert "if __k_value__ % 2 == 0" in text and "g(-x)" in text
