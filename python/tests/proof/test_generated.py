"""Random programs from the grammar (grammar.py) behave the same under plain
CPython, compiled without a pause, and compiled with checkpoints and
restores at every / random / every k-th pause points, in process and in
fresh interpreters (the corpus harness).

The proof cannot pass vacuously: every program must execute pause points
(and the deterministic modes take pauses), every construct of
features.FEATURES gets programs that pause inside it, and a construct the
compiler rejects fails the run instead of leaving the grammar.

Example counts are small for CI; KAPPA_PROOF_LONG=1 selects the long
profile (or set KAPPA_PROOF_EXAMPLES=N). CI draws the same programs every
run; KAPPA_PROOF_SEED=N draws other ones (a failure prints the seed's
program and how to reproduce it)."""

import os

import pytest
from corpus.harness import LONG, describe, differences, differential
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from runtime.driver import run_plain

from kappa.compiler import CompileError, compile_source

from .features import (
    FEATURES,
    KINDS,
    PROBES,
    REJECTED,
    PausesInside,
    assert_compiler_accepts_every_feature,
    construct_spans,
    rejected_probes,
)
from .grammar import grammar_constructs, programs

SEED = os.environ.get("KAPPA_PROOF_SEED")
_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
           "derandomize": not LONG and SEED is None, "print_blob": True}
# CI does not shrink: a hanging program costs the run's time limit per attempt.
settings.register_profile("kappa-proof-ci", max_examples=20, phases=[Phase.explicit, Phase.reuse, Phase.generate],
                          **_COMMON)
settings.register_profile("kappa-proof-long", max_examples=400, **_COMMON)
PROFILE = settings.get_profile("kappa-proof-long" if LONG else "kappa-proof-ci")
if os.environ.get("KAPPA_PROOF_EXAMPLES"):
    PROFILE = settings(PROFILE, max_examples=int(os.environ["KAPPA_PROOF_EXAMPLES"]))
# The programs of one profile run are shared among the constructs.
PER_CONSTRUCT = settings(PROFILE, max_examples=max(2, PROFILE.max_examples // len(FEATURES)))
FILENAME = "gen.py"


def seeded(test):
    return hypothesis_seed(int(SEED))(test) if SEED is not None else test


def check(source, seed, construct=None):
    """The program behaves the same in every mode, executes pause points,
    and (with `construct`) contains it and pauses inside it."""
    counter = PausesInside(FILENAME, construct_spans(source))
    try:
        reference, results, pauses = differential(source, FILENAME, seed=seed, timeout=20, counter=counter)
    except AssertionError as error:
        raise AssertionError(f"{error}\n--- program:\n{source}") from None
    diff = differences(reference, results)
    assert not diff, f"{describe(diff)}\n--- program ({pauses} pause points):\n{source}"
    assert pauses > 0, f"the program executed no pause point\n--- program:\n{source}"
    for mode, outcome in results.items():
        if mode.startswith("every"):
            assert outcome.pauses > 0, f"{mode}: no pause was taken\n--- program:\n{source}"
    if construct is not None:
        assert construct in counter.spans, f"the grammar generated no {construct}\n--- program:\n{source}"
        assert counter.inside[construct] > 0, \
            f"no pause point executed inside {construct} ({pauses} in all)\n--- program:\n{source}"


# -- the constructs: declared, generated, accepted -------------------------------------------


def test_the_compiler_accepts_every_construct_of_the_grammar():
    assert_compiler_accepts_every_feature()


@pytest.mark.parametrize("construct", REJECTED)
def test_what_the_compiler_rejects_on_purpose_is_still_rejected(construct):
    assert construct in rejected_probes([construct]), \
        f"the compiler now accepts {construct}: move it from REJECTED to FEATURES in features.py"


def test_the_declared_constructs_are_the_ones_the_grammar_draws():
    declared = set(FEATURES) | set(REJECTED)
    assert not set(FEATURES) & set(REJECTED)
    assert grammar_constructs() == declared
    assert set(PROBES) == declared
    assert set(KINDS) == declared


# -- generated programs ----------------------------------------------------------------------


@seeded
@settings(PROFILE)
@given(source=programs(), seed=st.integers(0, 2**16))
def test_basic_programs_behave_the_same(source, seed):
    check(source, seed)


@pytest.mark.parametrize("construct", FEATURES)
@seeded
@settings(PER_CONSTRUCT)
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_programs_pause_inside_each_construct_and_behave_the_same(construct, data, seed):
    """Programs over every construct, f0 starting with `construct` in a form
    that pauses inside it."""
    check(data.draw(programs(features=frozenset(FEATURES), required=construct), label="source"), seed,
          construct)


@seeded
@settings(PROFILE)
@given(source=programs(features=frozenset(FEATURES + REJECTED)))
def test_the_full_grammar_is_valid_deterministic_python(source):
    """Independent of the compiler: every construct of the grammar yields a
    program CPython runs twice the same way (so its failures compiled are
    the compiler's). Without a rejected construct, the compiler accepts it."""
    first = run_plain(source, filename=FILENAME)
    assert first.error_type in (None, "ValueError"), f"{first.error_type}: {first.error_message}\n{source}"
    assert run_plain(source, filename=FILENAME).observable() == first.observable()
    compile(source, FILENAME, "exec")
    if not set(construct_spans(source)) & set(REJECTED):
        compile_source(source, FILENAME)
    else:
        with pytest.raises(CompileError):
            compile_source(source, FILENAME)
