"""The construct x "a pause inside it" matrix.

One program per construct (tests/runtime/matrix/), each pausing inside the
construct, run plain on CPython and compiled: uninterrupted, checkpointed
and restored at every pause point in this process, with a fresh
interpreter at some of them, and at random points. Stdout and the return
value must equal the plain run's.

The variant that restores in a fresh interpreter at *every* pause point is
slow (one interpreter per pause): it runs for a sample of programs, for all
of them with KAPPA_EXHAUSTIVE=1.
"""

import os
from pathlib import Path

import pytest

from kappa.compiler import compile_source
from runtime.driver import Every, EveryKth, Never, RandomPauses, run_plain, run_program

MATRIX = Path(__file__).parent / "matrix"
PROGRAMS = sorted(p.stem for p in MATRIX.glob("*.py"))
EXHAUSTIVE = os.environ.get("KAPPA_EXHAUSTIVE") == "1"
SAMPLED = {"try_finally", "generators"}   # exhaustive fresh-interpreter runs by default

_cache = {}


def _program(name):
    if name not in _cache:
        source = (MATRIX / f"{name}.py").read_text()
        reference = run_plain(source, filename=f"{name}.py")
        _cache[name] = (source, reference, compile_source(source, f"{name}.py"))
    return _cache[name]


MODES = {
    "uninterrupted": dict(policy=Never()),
    "every-pause-in-process": dict(policy=Every()),
    "every-2nd-pause-in-process": dict(policy=EveryKth(2)),
    "random-pauses": dict(policy=RandomPauses(7, p=0.4)),
    "fresh-interpreter-sometimes": None,   # every pause, a fresh interpreter for a few of them
    "fresh-interpreter-every-pause": dict(policy=Every(), restore="subprocess"),
}


def _options(name, mode, compiled, source):
    if mode == "fresh-interpreter-sometimes":
        total = run_program(source, filename=f"{name}.py", compiled=compiled, policy=Every()).pauses
        return dict(policy=Every(), subprocess_every=max(1, total // 3 + 1))
    options = MODES[mode]
    return {**options, "policy": type(options["policy"])(**_policy_args(options["policy"]))}


def _policy_args(policy):
    if isinstance(policy, EveryKth):
        return {"k": policy.k}
    if isinstance(policy, RandomPauses):
        return {"seed": 7, "p": 0.4}
    return {}


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("name", PROGRAMS)
def test_construct_with_pauses_inside(name, mode):
    if mode == "fresh-interpreter-every-pause" and not (EXHAUSTIVE or name in SAMPLED):
        pytest.skip("exhaustive fresh-interpreter run: set KAPPA_EXHAUSTIVE=1")
    source, reference, compiled = _program(name)
    assert reference.error_type is None, reference.traceback
    assert reference.stdout
    got = run_program(source, filename=f"{name}.py", compiled=compiled, **_options(name, mode, compiled, source))
    assert got.observable() == reference.observable(), got.traceback
    if mode.startswith("every-pause") or mode.startswith("fresh"):
        assert got.pauses >= 5, "the program must pause inside the construct"
    if mode.startswith("fresh"):
        assert got.subprocesses >= 1
