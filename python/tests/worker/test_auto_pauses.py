"""Automatic pause points are switchable per job: `kappa run
--no-auto-pauses` puts the switch in the program's bundle, workers compile
the program without them, and the job checkpoints only where the program
asks; by default a short --auto-checkpoint interval makes it checkpoint
again and again. `kappa compile --no-auto-pauses` shows the difference."""

import re
import subprocess

import pytest

from worker.kapparun import REPO, kappa_binary, run_program
from worker.test_directory_programs import write

# Calls a compiled function for `seconds`, with one explicit checkpoint.
BUSY = """
    import time
    from kappa import checkpoint

    def work(i):
        return i * 2

    def handler(event, context):
        start = time.monotonic()
        calls = 0
        while time.monotonic() - start < event["seconds"]:
            work(calls)
            calls += 1
            if calls == 1000:
                checkpoint()
        return {"explicit": calls >= 1000}
"""


def checkpoints(stderr: str) -> int:
    """The job's checkpoint count from `kappa run`'s last progress line."""
    counts = re.findall(r"checkpoints (\d+) \(", stderr)
    assert counts, stderr
    return int(counts[-1])


@pytest.mark.parametrize("layout", ["file", "directory"])
def test_no_auto_pauses_checkpoints_only_where_the_program_asks(tmp_path, layout):
    if layout == "file":
        program = tmp_path / "busy.py"
        write(tmp_path, {"busy.py": BUSY})
    else:
        # The loop is in a helper module: its compiled calls pause too.
        program = tmp_path / "prog"
        write(program, {"main.py": "from loop import handler\n", "loop.py": BUSY})
    event = {"seconds": 1.5}
    # 1.5 s of calls with a 100 ms interval: many automatic checkpoints
    # (bounded low for a loaded machine), but none when they are off.
    on = run_program(program, event, "--auto-checkpoint", "100ms", tmp_path=tmp_path)
    assert on.result == {"explicit": True}
    assert checkpoints(on.stderr) >= 4, on.stderr
    off = run_program(program, event, "--auto-checkpoint", "100ms", "--no-auto-pauses", tmp_path=tmp_path)
    assert off.result == {"explicit": True}
    assert checkpoints(off.stderr) == 1, off.stderr


def test_compile_without_auto_pauses(tmp_path):
    write(tmp_path, {"busy.py": BUSY})

    def compiled(*flags):
        p = subprocess.run([kappa_binary(), "compile", *flags, str(tmp_path / "busy.py")],
                           capture_output=True, text=True, cwd=REPO, check=True)
        return p.stdout

    assert "auto_pause()" in compiled()
    off = compiled("--no-auto-pauses")
    assert "auto_pause()" not in off and "__k_c_handler_" in off   # still compiled for explicit pauses


def test_bad_auto_checkpoint_interval_is_one_line(tmp_path):
    write(tmp_path, {"busy.py": BUSY})
    r = run_program(tmp_path / "busy.py", {}, "--auto-checkpoint", "0s", tmp_path=tmp_path)
    assert r.code == 2 and "--auto-checkpoint must be positive" in r.stderr
    assert r.stderr.strip().count("\n") == 0
