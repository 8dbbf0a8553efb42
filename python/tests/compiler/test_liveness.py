"""Live variables at pause points (the emit stage)."""

import pytest

from kappa.compiler import compile_source

from .helpers import dedent, live_sets

G = "def g(*a):\n    return a\n\n"


def live(body, **kw):
    return live_sets(G + dedent(body), name="f", **kw)


def test_straight_line():
    sets = live("""
        def f(a, b):
            c = g(a)
            d = c + b
            g(d)
            return d + a
    """)
    assert sets == {"f:0": {"a", "b"}, "f:1": {"a", "b"}, "f:2": {"a", "d"}}


def test_call_target_is_not_live_after_the_call():
    sets = live("""
        def f(x):
            x = g(x)
            return x
    """)
    assert sets["f:1"] == set()


def test_dead_variables_are_not_saved():
    sets = live("""
        def f(a):
            big = [0] * 1000
            n = len(big)
            g(a)
            return n
    """)
    assert sets["f:1"] == {"n"}


def test_if_branches_union():
    sets = live("""
        def f(a, b, c):
            g()
            if a:
                return b
            else:
                return c
    """)
    assert sets["f:1"] == {"a", "b", "c"}


def test_possibly_unbound_variable_is_live():
    sets = live("""
        def f(c):
            if c:
                y = 1
            g(c)
            return y
    """)
    assert sets["f:1"] == {"y"}
    assert sets["f:0"] == {"c", "y"}   # read before any assignment on one path


def test_while_loop_keeps_loop_variables():
    sets = live("""
        def f(n):
            total = 0
            i = 0
            while i < n:
                g(i)
                i += 1
            return total
    """)
    assert sets["f:1"] == {"i", "n", "total"}


def test_for_loop_keeps_the_iterator_not_the_target():
    sets = live("""
        def f(xs):
            s = 0
            for x in xs:
                g(x)
                s += 1
            return s
    """)
    assert sets["f:1"] == {"__k_it6__", "s"}   # named after the line of the for


def test_break_and_continue():
    sets = live("""
        def f(xs, unused):
            found = None
            for x in xs:
                r = g(x)
                if r:
                    found = x
                    break
                if x:
                    continue
                g(0)
            return found
    """)
    assert sets["f:1"] == {"x", "__k_it6__", "found"}
    assert sets["f:2"] == {"__k_it6__", "found"}


def test_variable_only_used_in_loop_else():
    sets = live("""
        def f(xs, tail):
            for x in xs:
                g(x)
            else:
                return tail
            return None
    """)
    assert sets["f:1"] == {"__k_it5__", "tail"}


def test_return_inside_loop_ends_liveness():
    sets = live("""
        def f(xs, a):
            for x in xs:
                r = g(x)
                return r
            return a
    """)
    assert sets["f:1"] == set()


def test_nested_loops_keep_outer_iterator():
    sets = live("""
        def f(rows):
            total = 0
            for row in rows:
                for cell in row:
                    total += g(cell)[0]
            return total
    """)
    assert sets["f:1"] == {"__k_it6__", "__k_it7__", "total"}


def test_while_with_pausing_condition():
    sets = live("""
        def f(n, k):
            while g(n):
                n -= 1
            else:
                n = k
            return n
    """)
    # the else-flag lives across the pause in the condition
    assert sets["f:1"] == {"n", "k", "__k_else2__"}


def test_del_reads_the_variable():
    sets = live("""
        def f(x):
            g()
            del x
    """)
    assert sets["f:1"] == {"x"}


def test_augmented_target_subscript_reads_container_and_index():
    sets = live("""
        def f(d, k):
            g()
            d[k] += 1
    """)
    assert sets["f:1"] == {"d", "k"}


def test_temporaries_live_across_later_pause():
    sets = live("""
        def f(a):
            return g(a) + g(a + 1)
    """)
    assert sets["f:2"] == {"__k_t1__"}


def test_drop_live_option_removes_one_variable():
    source = G + dedent("""
        def f(a, b):
            g()
            return a + b
    """)
    normal = compile_source(source, "prog.py")
    dropped = compile_source(source, "prog.py", drop_live="1")
    assert normal.dropped is None
    assert dropped.dropped == ("f:1", "a")
    assert normal.pause_points["f:1"].live == ("a", "b")
    assert dropped.pause_points["f:1"].live == ("b",)
    explicit = compile_source(source, "prog.py", drop_live="f:1:b")
    assert explicit.pause_points["f:1"].live == ("a",)


def test_drop_live_environment_switch(monkeypatch):
    source = G + "def f(a):\n    g()\n    return a\n"
    monkeypatch.setenv("KAPPA_TEST_DROP_LIVE", "1")
    assert compile_source(source, "prog.py").pause_points["f:1"].live == ()
    monkeypatch.delenv("KAPPA_TEST_DROP_LIVE")
    assert compile_source(source, "prog.py").pause_points["f:1"].live == ("a",)


@pytest.mark.parametrize("spec", ["f:9:a", "f:1:nope"])
def test_drop_live_with_unknown_target_drops_nothing(spec):
    source = G + "def f(a):\n    g()\n    return a\n"
    assert compile_source(source, "prog.py", drop_live=spec).dropped is None
