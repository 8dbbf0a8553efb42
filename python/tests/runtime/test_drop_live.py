"""The TEST-ONLY switch that drops one live variable must make the
differential harness report a difference: the harness can see liveness bugs."""

from kappa.compiler import compile_source

from .helpers import differences, differential, program_source


def test_dropping_a_live_variable_is_detected(monkeypatch):
    source = program_source("loops")
    monkeypatch.setenv("KAPPA_TEST_DROP_LIVE", "1")
    assert compile_source(source, "loops.py").dropped == ("grid:1", "cols")
    reference, results = differential(source, filename="loops.py")
    diff = differences(reference, results)
    assert "uninterrupted" not in diff          # without a pause nothing is lost
    assert {"every pause, in process", "every pause, fresh interpreter every k-th"} <= set(diff)
    assert results["every pause, in process"].error_type in ("NameError", "UnboundLocalError")


def test_without_the_switch_there_is_no_difference(monkeypatch):
    monkeypatch.delenv("KAPPA_TEST_DROP_LIVE", raising=False)
    reference, results = differential(program_source("loops"), filename="loops.py", subprocess=False)
    assert differences(reference, results) == {}
