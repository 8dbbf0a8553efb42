"""User errors show the user's file, lines and function names, also after
a restore (in process and in a fresh interpreter)."""

import traceback

import pytest

from kappa.compiler import compile_source
from kappa.runtime import Call, format_user_traceback, load_program, run

from .driver import Every, EveryKth, Never, run_program
from .helpers import load, program_source


def plain_program_frames(source, filename, entry):
    namespace = {}
    exec(compile(source, filename, "exec"), namespace)
    with pytest.raises(Exception) as info:
        namespace[entry]()
    lines = source.splitlines()
    return [(f.filename, f.lineno, f.name, lines[f.lineno - 1].strip())
            for f in traceback.extract_tb(info.value.__traceback__) if f.filename == filename]


def expected_text(frames, error_line):
    text = "Traceback (most recent call last):\n"
    for filename, line, name, source_line in frames:
        text += f'  File "{filename}", line {line}, in {name}\n    {source_line}\n'
    return text + error_line + "\n"


def test_error_after_restore_has_original_file_lines_and_names():
    source = program_source("errors")
    expected = expected_text(plain_program_frames(source, "errors.py", "main"),
                             "IndexError: list index out of range")
    for options in ({"policy": Never()}, {"policy": Every()}, {"policy": EveryKth(4), "restore": "subprocess"}):
        outcome = run_program(source, filename="errors.py", **options)
        if "restore" in options:   # the error happened in a fresh interpreter
            assert outcome.subprocesses >= 1 and outcome.error is None
        assert outcome.error_type == "IndexError"
        assert outcome.traceback == expected, options
        assert "__k_" not in outcome.traceback


def test_chained_exceptions_are_shown_oldest_first():
    module = load("""
        def parse(text):
            return int(text)

        def main():
            try_value = "x"
            raise RuntimeError("bad config") from make_error(try_value)

        def make_error(text):
            return ValueError(text)
    """)
    with pytest.raises(RuntimeError) as info:
        run(Call(module.main))
    text = format_user_traceback(info.value)
    assert text.index("ValueError: x") < text.index("direct cause") < text.index("RuntimeError: bad config")
    assert 'File "prog.py", line 6, in main' in text


def test_frames_outside_the_program_are_hidden():
    module = load_program(compile_source("import json\n\ndef main():\n    return json.loads('{')\n", "p.py"))
    with pytest.raises(ValueError) as info:
        run(Call(module.main))
    text = format_user_traceback(info.value)
    assert text.count('File "') == 1 and 'File "p.py", line 4, in main' in text
    assert "json.decoder.JSONDecodeError" in text
