"""The harness can fail: with the TEST-ONLY switch that drops one live
variable from the liveness result (KAPPA_TEST_DROP_LIVE=1: the first
variable of the first pause point that has one), the corpus harness must
report a difference on at least one program, while the uninterrupted runs
(which restore nothing) stay identical. Without the switch the same
programs agree (test_corpus.py is the control).

In CI the loop stops after three programs have shown a difference;
KAPPA_PROOF_LONG=1 runs every supported program."""

from kappa.compiler import compile_source

from .harness import LONG, differences, differential, program_path, program_source
from .manifest import KNOWN_BUGS, NEEDS
from .test_corpus import NAMES

SUPPORTED = [n for n in NAMES if n not in NEEDS and n not in KNOWN_BUGS]


def test_dropping_a_live_variable_makes_the_corpus_harness_report_a_difference(monkeypatch):
    monkeypatch.setenv("KAPPA_TEST_DROP_LIVE", "1")   # the fresh interpreters inherit it
    caught, dropped = {}, {}
    for name in SUPPORTED:
        source, filename = program_source(name), str(program_path(name))
        dropped[name] = compile_source(source, filename).dropped
        reference, results, _ = differential(source, filename)
        diff = differences(reference, results)
        assert "uninterrupted" not in diff, name
        if diff:
            caught[name] = sorted(diff)
            if len(caught) >= 3 and not LONG:
                break
    assert all(dropped.values()), "the switch dropped nothing in some program"
    assert caught, f"no corpus program showed the dropped variables {dropped}"
    print(f"caught {len(caught)}/{len(SUPPORTED)}: {caught}")

