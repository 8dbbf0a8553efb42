"""The differential harness for the corpus (and the generated programs).

Each program runs (1) under plain CPython, (2) compiled without a pause,
(3) compiled and checkpointed + restored at every pause point (small
programs) or every k-th and random pause points, in this process and in
fresh interpreters. Their observable outcomes (stdout, return value, error)
must be identical.

KAPPA_PROOF_LONG=1 makes the runs exhaustive: every pause point in process
for every program, and a fresh interpreter at every k-th and random pause.
"""

import contextlib
import math
import os
import signal
from pathlib import Path

from runtime.driver import Every, EveryKth, Never, Policy, RandomPauses, run_plain, run_program

from kappa.compiler import compile_source

PROGRAMS = Path(__file__).parent / "programs"
LONG = os.environ.get("KAPPA_PROOF_LONG") == "1"

SMALL = 400            # restore at every pause point up to this many pauses
SAMPLED_PAUSES = 120   # otherwise: about this many in-process restores per mode
CHILDREN = 2           # fresh interpreters per sampled mode in CI
LONG_CHILDREN = 25     # ... and with KAPPA_PROOF_LONG=1


class CountPauses(Policy):
    """Takes no pause but counts every pause opportunity: each explicit
    checkpoint() and each compiled function entry where an automatic pause
    would be legal (the driver keeps the pending flag raised)."""
    auto = True

    def __init__(self):
        self.count = 0

    def take(self, request):
        self.count += 1
        return False


class ProgramTimeout(BaseException):
    """A run took too long: a compiled program that no longer terminates
    (state lost on restore can reset a loop) must fail the test, not hang it."""


@contextlib.contextmanager
def deadline(seconds):
    """Raise ProgramTimeout in this (main) thread after `seconds`, and again
    every half second after that: the program under test may swallow it
    (a `with` whose __exit__ returns True, a bare except)."""
    def expire(signum, frame):
        raise ProgramTimeout(f"no result after {seconds} s")
    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.5)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def program_path(name):
    return PROGRAMS / f"{name}.py"


def program_source(name):
    return program_path(name).read_text()


def count_pauses(source, filename, compiled=None, entry="main", args=(), policy=None):
    """(pause points executed on the program's path, outcome); `policy`: a
    CountPauses (or subclass) to count with."""
    policy = policy or CountPauses()
    outcome = run_program(source, entry, args, filename=filename, policy=policy,
                          compiled=compiled or compile_source(source, filename))
    return policy.count, outcome


def plans(pauses, seed=0, long=LONG):
    """The compiled runs for a program with `pauses` pause points executed:
    {mode: run_program options}."""
    out = {"uninterrupted": {"policy": Never()}}
    if long or pauses <= SMALL:
        out["every pause, in process"] = {"policy": Every()}
    else:
        out["every k-th, in process"] = {"policy": EveryKth(math.ceil(pauses / SAMPLED_PAUSES))}
    p = min(0.3, SAMPLED_PAUSES / max(pauses, 1))
    out["random, in process"] = {"policy": RandomPauses(seed, p=p)}
    children = LONG_CHILDREN if long else CHILDREN
    k = max(1, pauses // (children * 8))          # about 8 pauses per fresh interpreter
    out["every k-th, fresh interpreters"] = {"policy": EveryKth(k), "subprocess_every": 8}
    p = min(0.5, children * 2 / max(pauses, 1))   # about 2 pauses per fresh interpreter
    out["random, fresh interpreters"] = {"policy": RandomPauses(seed + 1, p=p), "subprocess_every": 2}
    if long:
        out["every k-th, fresh interpreter each"] = {"policy": EveryKth(max(1, pauses // children)),
                                                      "restore": "subprocess"}
    return out


def differential(source, filename, entry="main", args=(), seed=0, long=LONG, pauses=None,
                 timeout=120, counter=None):
    """Run the program plainly and compiled under every plan, each run
    limited to `timeout` seconds (ProgramTimeout names the mode). Unless
    `pauses` is given, a run with `counter` (a CountPauses) counts them.

    Returns (reference outcome, {mode: outcome}, pause points executed)."""
    reference = run_plain(source, entry, args, filename=filename)
    compiled = compile_source(source, filename)
    if pauses is None:
        with _limited("counting pause points", timeout):
            pauses, _ = count_pauses(source, filename, compiled, entry, args, counter)
    results = {}
    for mode, options in plans(pauses, seed, long).items():
        with _limited(mode, timeout):
            results[mode] = run_program(source, entry, args, filename=filename, compiled=compiled,
                                        **options)
    return reference, results, pauses


@contextlib.contextmanager
def _limited(mode, timeout):
    try:
        with deadline(timeout):
            yield
    except ProgramTimeout as timeout_error:
        raise AssertionError(f"{mode}: {timeout_error} (the compiled program no longer terminates?)") from None


def differences(reference, results):
    """{mode: (expected, got)} for every mode whose outcome differs."""
    return {mode: (reference.observable(), got.observable())
            for mode, got in results.items() if got.observable() != reference.observable()}


def describe(diff):
    """A readable account of the first difference per mode."""
    lines = []
    for mode, (expected, got) in diff.items():
        lines.append(f"--- {mode}")
        for label, a, b in zip(("stdout", "value", "error type", "error"), expected, got):
            if a != b:
                lines.append(f"  {label}: expected {_short(a)}\n  {' ' * len(label)}       got {_short(b)}")
    return "\n".join(lines)


def _short(value, limit=600):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
