"""The stages declared in pipeline.py: compile_source is exactly STAGES run
in order, and a prefix or a single stage can be run on its own."""

import ast

import pytest
from runtime.driver import Every, run_program

from kappa.compiler import Compiled, CompileError, compile_source
from kappa.compiler.ast_queries import is_pausing_call
from kappa.compiler.pipeline import (
    FUNCTION_STAGES,
    STAGES,
    Classified,
    Emitted,
    Options,
    Parsed,
    Shaped,
    Source,
    run_stages,
    stage,
    stages_through,
)

from .helpers import dedent

PROGRAM = dedent("""
    from kappa.runtime import checkpoint

    class Log:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def double(x):
        return x * 2

    def main(n):
        total = 0
        with Log():
            for i in range(n):
                total += double(i) + double(i + 1)
                checkpoint()
        return total
""")
MAIN = 3   # index of main in the module body

def test_stages_in_order():
    assert [s.name for s in STAGES] == ["parse", "mangle", "classify", "check", "shape", "number", "emit",
                                        "assemble", "compile"]
    assert [s.name for s in FUNCTION_STAGES] == ["prepare", "flatten", "desugar"]
    assert all(s.summary for s in STAGES + FUNCTION_STAGES)


def test_compile_source_runs_the_declared_stages():
    options = Options(auto_pauses=False, program_modules=frozenset({"helpers"}))
    by_hand = run_stages(Source(PROGRAM, "prog.py", options))
    compiled = compile_source(PROGRAM, "prog.py", auto_pauses=False, program_modules=["helpers"])
    assert isinstance(by_hand, Compiled)
    assert (by_hand.source, by_hand.fingerprint, by_hand.pause_points) == \
        (compiled.source, compiled.fingerprint, compiled.pause_points)


def test_each_stage_returns_the_next_state():
    expected = {"parse": Parsed, "mangle": Parsed, "classify": Classified, "check": Classified,
                "shape": Shaped, "number": Shaped, "emit": Emitted, "assemble": Emitted, "compile": Compiled}
    state = Source(PROGRAM, "prog.py")
    for s in STAGES:
        state = s.run(state)
        assert type(state) is expected[s.name], s.name
    outcome = run_program(PROGRAM, args=(3,), filename="prog.py", compiled=state, policy=Every())
    assert (outcome.value, outcome.error_type) == (18, None) and outcome.pauses > 3


def test_a_prefix_stops_where_asked():
    state = run_stages(Source(PROGRAM, "prog.py"), stages_through("classify"))
    assert isinstance(state, Classified) and not isinstance(state, Shaped)
    main = state.tree.body[MAIN]
    calls = sorted(ast.unparse(n.func) for n in ast.walk(main) if is_pausing_call(n))
    assert calls == ["Log", "checkpoint", "double", "double"]
    assert ast.unparse(main) == ast.unparse(ast.parse(PROGRAM).body[MAIN])   # marked, not rewritten


def test_function_stages_can_stop_after_flatten():
    classified = run_stages(Source(PROGRAM, "prog.py"), stages_through("check"))
    untouched = stage("shape").run(classified, ())
    assert "total += double(i) + double(i + 1)" in ast.unparse(untouched.tree)
    assert [f.qualname for f in untouched.functions] == ["Log.__enter__", "Log.__exit__", "double", "main"]

    classified = run_stages(Source(PROGRAM, "prog.py"), stages_through("check"))
    flat = stage("shape").run(classified, stages_through("flatten", FUNCTION_STAGES))
    text = ast.unparse(flat.tree.body[MAIN])
    assert "__k_t2__ = double(i)" in text and "with __k_t1__:" in text   # flattened, not desugared
    stage("number").run(flat)
    assert [len(f.sites) for f in flat.functions] == [1, 1, 1, 5]   # entries; Log(), double x2, checkpoint

    classified = run_stages(Source(PROGRAM, "prog.py"), stages_through("check"))
    desugared = ast.unparse(stage("shape").run(classified).tree.body[MAIN])
    assert "with __k_t1__" not in desugared and "__kappa__.enter_with" in desugared


def test_the_check_stage_alone_rejects():
    parsed = run_stages(Source("async def f():\n    pass\n", "prog.py"), stages_through("classify"))
    with pytest.raises(CompileError, match="prog.py:1:1: unsupported construct: async"):
        stage("check").run(parsed)


def test_an_unknown_stage_is_named_with_the_known_ones():
    with pytest.raises(ValueError, match="no compiler stage 'flaten'; the stages are: parse, mangle"):
        stages_through("flaten")
    with pytest.raises(ValueError, match="the stages are: prepare, flatten, desugar"):
        stage("wrap", FUNCTION_STAGES)
