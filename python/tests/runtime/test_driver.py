"""The local driver: policies, restore modes, command line."""

import pytest

from .driver import Every, EveryKth, Never, RandomPauses, main, run_file, run_program

SOURCE = """from kappa.runtime import checkpoint

def work(i):
    checkpoint()
    return i * i

def main(n=6):
    total = 0
    for i in range(n):
        total += work(i)
        print("i", i, total)
    return total
"""


def test_policies_choose_how_many_pauses_are_taken():
    never = run_program(SOURCE, policy=Never())
    every = run_program(SOURCE, policy=Every())
    explicit_only = run_program(SOURCE, policy=Every(auto=False))
    third = run_program(SOURCE, policy=EveryKth(3))
    assert never.pauses == 0 and never.value == 55
    assert explicit_only.pauses == 6                 # the six checkpoint() calls
    assert every.pauses == 13                        # plus main's and work's entries
    assert third.pauses == 13 // 3
    assert {o.observable() for o in (never, every, explicit_only, third)} == {never.observable()}
    a = run_program(SOURCE, policy=RandomPauses(5))
    b = run_program(SOURCE, policy=RandomPauses(5))
    assert a.pauses == b.pauses                      # reproducible by seed


def test_every_pause_in_a_fresh_interpreter():
    outcome = run_program(SOURCE, args=(2,), policy=EveryKth(2), restore="subprocess")
    assert outcome.value == 1 and outcome.pauses == 2 and outcome.subprocesses == 2
    assert outcome.stdout == "i 0 0\ni 1 1\n"


def test_unknown_restore_mode():
    with pytest.raises(ValueError):
        run_program(SOURCE, restore="elsewhere")


def test_compile_errors_are_raised_not_reported():
    from kappa.compiler import CompileError
    with pytest.raises(CompileError):
        run_program("from kappa import checkpoint\ndef main():\n    yield 1\n    checkpoint()\n")


def test_command_line(tmp_path, capsys):
    path = tmp_path / "app.py"
    path.write_text(SOURCE)
    assert run_file(path, policy=Every()).value == 55
    assert main([str(path), "--policy", "every-k", "-k", "2"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("i 0 0\n") and "-- 6 pauses" in err and "-- result: 55" in err
