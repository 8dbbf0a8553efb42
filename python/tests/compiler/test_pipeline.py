"""The declared stages, wrapping and the public API: registry, locations, names."""

import ast
import traceback

import pytest
from runtime.driver import Every, run_plain, run_program

from kappa.compiler import compile_file, compile_source
from kappa.runtime import Call, load_program, run

from .helpers import dedent

PROGRAM = dedent('''
    """A module docstring."""
    from __future__ import annotations
    from kappa.runtime import checkpoint

    def double(x):
        """Doubles."""
        return x * 2

    def main(n):
        total = 0
        for i in range(n):
            total += double(i)
            checkpoint()
        return total
''')


def test_compiled_fields():
    compiled = compile_source(PROGRAM, "prog.py")
    assert compiled.filename == "prog.py"
    assert compiled.original == PROGRAM
    ast.parse(compiled.source)        # the transformed module is valid Python
    assert compiled.stats.functions == 2
    assert compiled.stats.pause_points == 2
    assert compiled.stats.continuations == 4
    assert compiled.stats.per_function == {"double": 0, "main": 2}
    assert compiled.stats.source_lines < compiled.generated_lines
    assert set(compiled.pause_points) == {"double:0", "main:0", "main:1", "main:2"}
    info = compiled.pause_points["main:1"]
    assert (info.function, info.line, info.target) == ("main", 12, None)   # total += double(i)
    assert len(compiled.sites.positions) == 2
    assert compiled.fingerprint == compile_source(PROGRAM, "prog.py").fingerprint
    assert compiled.fingerprint != compile_source(PROGRAM + "\n#\n", "prog.py").fingerprint


def test_wrapping_and_entry_check_in_source():
    compiled = compile_source(PROGRAM, "prog.py")
    text = compiled.source
    assert text.count("except __kappa__.Capture as __k_cap__:") == 2 + 4   # one per function and continuation
    assert "__k_cap__.record(__kappa__.locals(), None)" in text
    assert text.count("if __k_pending__:") == 2          # one per function, not in continuations
    assert text.index("from __future__") < text.index("__k_pp = {}")


def test_docstrings_and_names_survive():
    module = load_program(compile_source(PROGRAM, "prog.py"))
    assert module.__doc__ == "A module docstring."
    assert module.double.__doc__ == "Doubles."
    assert module.__k_pp["main:1"].resume.__code__.co_name == "main"   # tracebacks say `in main`
    assert module.main(4) == 12   # outside a run, checkpoint() does nothing


def test_compile_file(tmp_path):
    path = tmp_path / "app.py"
    path.write_text("# -*- coding: utf-8 -*-\ndef main():\n    return 'é'\n", encoding="utf-8")
    compiled = compile_file(path)
    assert compiled.filename == str(path)
    assert run(Call(load_program(compiled).main)) == "é"


ERRORS = dedent("""
    def helper(xs, i):
        return xs[i]

    def main():
        xs = [1, 2, 3]
        a = helper(xs, 0)
        b = helper(xs,
                   a + 5)
        return a + b
""")


def test_uninterrupted_traceback_matches_plain_python():
    namespace = {}
    exec(compile(ERRORS, "prog.py", "exec"), namespace)
    with pytest.raises(IndexError) as plain:
        namespace["main"]()
    module = load_program(compile_source(ERRORS, "prog.py"))
    with pytest.raises(IndexError) as compiled:
        run(Call(module.main))

    def frames(exc):
        return [(f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(exc.__traceback__)
                if f.filename == "prog.py"]
    assert frames(compiled.value) == frames(plain.value)
    assert frames(compiled.value)[-1][1:] == (2, "helper", "return xs[i]")


def test_builtins_used_by_generated_code_cannot_be_shadowed():
    source = dedent("""
        iter = None
        AssertionError = None

        def g(x):
            return x

        def main():
            locals = 3
            out = []
            for x in [1, 2]:
                out.append(g(x) + locals)
            assert g(True), g("msg")
            return out
    """)
    assert run_program(source, policy=Every()).observable() == run_plain(source).observable()


def test_duplicate_function_names_and_conditional_defs():
    source = dedent("""
        from kappa.runtime import checkpoint
        FAST = True

        def f(x):
            checkpoint()
            return x + 1

        def f(x):
            checkpoint()
            return x + 2

        if FAST:
            def h(x):
                checkpoint()
                return f(x) * 10
        else:
            def h(x):
                return 0

        def main():
            return h(1)
    """)
    compiled = compile_source(source, "prog.py")
    assert {"f@4:1", "f@8:1", "h@13:1"} <= set(compiled.pause_points)
    assert run_program(source, policy=Every()).observable() == run_plain(source).observable()


def test_methods_are_compiled_and_module_code_is_not():
    source = dedent("""
        class C:
            def m(self):
                return helper(1)

        def helper(x):
            return x

        VALUE = helper(5)
    """)
    compiled = compile_source(source, "prog.py")
    assert compiled.stats.functions == 2
    assert compiled.stats.per_function == {"C.m": 1, "helper": 0}
    tree = ast.parse(compiled.source)
    method = tree.body[1].body[0]
    assert "__k_cap__.record" in ast.unparse(method)
    assert ast.unparse(next(s for s in tree.body if isinstance(s, ast.Assign) and s.targets[0].id == "VALUE")) \
        == "VALUE = helper(5)"


def test_automatic_pauses_switched_off_at_compile_time():
    """auto_pauses=False: no entry checks, so a raised pending flag pauses
    nowhere; explicit checkpoints still do, and resume the same."""
    on, off = compile_source(PROGRAM, "prog.py"), compile_source(PROGRAM, "prog.py", auto_pauses=False)
    assert "auto_pause" in on.source and "auto_pause" not in off.source
    assert on.fingerprint != off.fingerprint   # a checkpoint of one is not resumed by the other
    expected = run_plain(PROGRAM, args=(5,), filename="prog.py")
    got_on = run_program(PROGRAM, args=(5,), filename="prog.py", compiled=on, policy=Every())
    got_off = run_program(PROGRAM, args=(5,), filename="prog.py", compiled=off, policy=Every())
    assert got_on.observable() == got_off.observable() == expected.observable()
    assert got_off.pauses == 5                 # the five checkpoint() calls only
    assert got_on.pauses > got_off.pauses      # plus entries of main and double
