"""Shared by the runtime tests: the differential harness."""

from pathlib import Path

from kappa.compiler import compile_source

from .driver import Every, Never, RandomPauses, run_plain, run_program

PROGRAMS = Path(__file__).parent / "programs"


def program_names():
    return sorted(p.stem for p in PROGRAMS.glob("*.py"))


def program_source(name):
    return (PROGRAMS / f"{name}.py").read_text()


def differential(source, filename="prog.py", entry="main", args=(), subprocess=True, seed=0):
    """Run `source` plainly and compiled under several pause policies.

    Returns (reference outcome, {mode: outcome}); every outcome should have
    the same observable() as the reference.
    """
    reference = run_plain(source, entry, args, filename=filename)
    compiled = compile_source(source, filename)

    def compiled_run(**options):
        return run_program(source, entry, args, filename=filename, compiled=compiled, **options)

    results = {
        "uninterrupted": compiled_run(policy=Never()),
        "every pause, in process": compiled_run(policy=Every()),
        "random pauses": compiled_run(policy=RandomPauses(seed, p=0.3)),
    }
    if subprocess:
        total = results["every pause, in process"].pauses
        k = total // 3 + 1   # two or three fresh interpreters per program
        results["every pause, fresh interpreter every k-th"] = compiled_run(
            policy=Every(), subprocess_every=k)
    return reference, results


def differences(reference, results):
    """{mode: (expected, got)} for every mode that differs from the reference."""
    return {mode: (reference.observable(), got.observable())
            for mode, got in results.items() if got.observable() != reference.observable()}


def load(source, filename="prog.py", **options):
    """Compile and load a program source (dedented)."""
    import textwrap

    from kappa.runtime import load_program
    return load_program(compile_source(textwrap.dedent(source).lstrip("\n"), filename), **options)


def capture(start):
    """run(start), expecting a Capture; return it."""
    import pytest

    from kappa.runtime import Capture, run
    with pytest.raises(Capture) as info:
        run(start)
    return info.value
