"""Random programs from the grammar (grammar.py) behave the same under plain
CPython, compiled without a pause, and compiled with checkpoints and
restores at every / random / every k-th pause points, in process and in
fresh interpreters (the corpus harness).

Example counts are small for CI; KAPPA_PROOF_LONG=1 selects the long
profile (or set KAPPA_PROOF_EXAMPLES=N). CI draws the same programs every
run; KAPPA_PROOF_SEED=N draws other ones (a failure prints the seed's
program and how to reproduce it)."""

import os

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from kappa.compiler import compile_source
from runtime.driver import run_plain

from corpus.harness import LONG, describe, differences, differential
from .features import PROBES, supported
from .grammar import programs

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


def seeded(test):
    return hypothesis_seed(int(SEED))(test) if SEED is not None else test


def check(source, seed):
    try:
        reference, results, pauses = differential(source, "gen.py", seed=seed, timeout=20)
    except AssertionError as error:
        raise AssertionError(f"{error}\n--- program:\n{source}") from None
    diff = differences(reference, results)
    assert not diff, f"{describe(diff)}\n--- program ({pauses} pause points):\n{source}"


def test_probes_report_what_the_compiler_supports():
    features = supported()
    assert features <= set(PROBES)
    print("constructs in the grammar:", sorted(features) or "basics only",
          "| still off:", sorted(set(PROBES) - features))


@seeded
@settings(PROFILE)
@given(source=programs(), seed=st.integers(0, 2**16))
def test_basic_programs_behave_the_same(source, seed):
    check(source, seed)


@pytest.mark.skipif(not supported(), reason="the compiler supports none of the gated constructs yet")
@seeded
@settings(PROFILE)
@given(source=programs(features=supported()), seed=st.integers(0, 2**16))
def test_programs_with_every_supported_construct_behave_the_same(source, seed):
    check(source, seed)


@seeded
@settings(PROFILE)
@given(source=programs(features=frozenset(PROBES)))
def test_the_full_grammar_is_valid_deterministic_python(source):
    """Independent of the compiler: every construct of the grammar yields a
    program CPython runs twice the same way (so its failures compiled are
    the compiler's)."""
    first = run_plain(source, filename="gen.py")
    assert first.error_type in (None, "ValueError"), f"{first.error_type}: {first.error_message}\n{source}"
    assert run_plain(source, filename="gen.py").observable() == first.observable()
    compile(source, "gen.py", "exec")
    if supported() == frozenset(PROBES):
        compile_source(source, "gen.py")
