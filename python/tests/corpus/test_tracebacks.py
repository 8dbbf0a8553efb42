"""A user error raised in compiled code has the traceback plain CPython
would print for the corpus program's own file: same file, line numbers,
function names and source lines, for the whole cause/context chain;
before any pause, after restores in process, and when the error happens
in a fresh interpreter after a restore there."""

import traceback
import types

import pytest
from runtime.driver import Every, EveryKth, Never, run_program

from kappa.runtime.loader import DEFAULT_MODULE

from .harness import count_pauses, program_path, program_source
from .manifest import marks

CASES = [("interp_calc", "broken", "ZeroDivisionError"),
         ("exceptions_retry", "broken", "AppError")]

MODES = ["no pause", "every pause, in process", "fresh interpreters at 3 pauses"]


def options(mode, source, filename, entry):
    if mode == "no pause":
        return {"policy": Never()}
    if mode == "every pause, in process":
        return {"policy": Every()}
    pauses, _ = count_pauses(source, filename, entry=entry)
    return {"policy": EveryKth(max(1, pauses // 3)), "restore": "subprocess"}


def plain_error(source, filename, entry):
    module = types.ModuleType(DEFAULT_MODULE)   # the same module name as compiled runs
    module.__file__ = filename
    exec(compile(source, filename, "exec", dont_inherit=True), module.__dict__)
    with pytest.raises(Exception) as info:
        getattr(module, entry)()
    return info.value


def expected_traceback(error, filename, lines):
    """What format_user_traceback should print: the program's frames only."""
    text = ""
    cause, context = error.__cause__, error.__context__
    if cause is not None:
        text = (expected_traceback(cause, filename, lines) +
                "\nThe above exception was the direct cause of the following exception:\n\n")
    elif context is not None and not error.__suppress_context__:
        text = (expected_traceback(context, filename, lines) +
                "\nDuring handling of the above exception, another exception occurred:\n\n")
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == filename]
    text += "Traceback (most recent call last):\n"
    for f in frames:
        text += f'  File "{filename}", line {f.lineno}, in {f.name}\n    {lines[f.lineno - 1].strip()}\n'
    return text + "".join(traceback.format_exception_only(type(error), error))


@pytest.mark.parametrize("name,entry,error_type",
                         [pytest.param(*case, marks=marks(case[0]), id=case[0]) for case in CASES])
@pytest.mark.parametrize("mode", MODES)
def test_user_error_points_at_the_original_file_and_lines(name, entry, error_type, mode):
    source, filename = program_source(name), str(program_path(name))
    error = plain_error(source, filename, entry)
    assert type(error).__name__ == error_type
    expected = expected_traceback(error, filename, source.splitlines())
    outcome = run_program(source, entry, filename=filename, **options(mode, source, filename, entry))
    assert outcome.error_type == error_type, outcome.traceback
    if mode != "no pause":
        assert outcome.pauses > 0
    if "fresh" in mode:   # raised in the child: only its report came back
        assert outcome.subprocesses >= 1 and outcome.error is None
    assert outcome.traceback == expected
    assert "__k_" not in outcome.traceback
