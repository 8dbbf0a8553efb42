"""The corpus through the differential harness: plain CPython vs compiled,
uninterrupted and checkpointed + restored (every pause point for small
programs, every k-th and random pause points otherwise, in process and in
fresh interpreters). See harness.py for the plans and KAPPA_PROOF_LONG.

A known bug is kept failing on purpose (listed in manifest.KNOWN_BUGS, not
xfail) until it is fixed; its minimal reproduction then becomes a
regression test in tests/runtime (test_restore_regressions.py).
"""

import pytest

from kappa.compiler import CompileError

from .harness import count_pauses, describe, differences, differential, program_path, program_source
from .manifest import KNOWN_BUGS, NEEDS, marks

NAMES = sorted(p.stem for p in program_path("x").parent.glob("*.py"))
MIN_PAUSES = 20


def params():
    return [pytest.param(name, marks=marks(name), id=name) for name in NAMES]


def test_corpus_has_at_least_30_programs():
    assert len(NAMES) >= 30
    assert set(NEEDS) <= set(NAMES) and set(KNOWN_BUGS) <= set(NAMES)


@pytest.mark.parametrize("name", params())
def test_program_behaves_the_same_plain_compiled_and_restored(name):
    source, filename = program_source(name), str(program_path(name))
    reference, results, pauses = differential(source, filename)
    assert reference.error_type is None, reference.error_message
    assert reference.stdout, "a corpus program must print"
    assert pauses >= MIN_PAUSES
    diff = differences(reference, results)
    assert not diff, f"{name}: {len(diff)} mode(s) differ\n{describe(diff)}"
    for mode, outcome in results.items():
        if mode != "uninterrupted":
            assert outcome.pauses > 0, f"{mode}: no pause was taken"
    assert results["every k-th, fresh interpreters"].subprocesses >= 1
    assert results["random, fresh interpreters"].subprocesses >= 1


@pytest.mark.parametrize("name", NAMES)
def test_at_least_20_pause_points_on_the_executed_path(name):
    source, filename = program_source(name), str(program_path(name))
    try:
        pauses, outcome = count_pauses(source, filename)
    except CompileError as error:
        if name in NEEDS:
            pytest.skip(f"the compiler rejects it for now: {error}")
        raise
    if name in NEEDS and outcome.error_type is not None:
        pytest.skip(f"fails before the end for now: {outcome.error_type}")
    assert outcome.error_type is None, outcome.traceback
    assert pauses >= MIN_PAUSES, f"{name}: only {pauses} pause points executed"
