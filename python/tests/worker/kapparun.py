"""Runs programs with the real `kappa run` (the embedded default: a
one-node cluster, the local lambda platform and a directory store), so the
worker is tested against the real coordinator.

The binary is $KAPPA_BIN, or built once per test session with `go build`.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import tempfile
import textwrap
from dataclasses import dataclass

REPO = pathlib.Path(__file__).resolve().parents[3]
_built: list[str] = []


def kappa_binary() -> str:
    if os.environ.get("KAPPA_BIN"):
        return os.environ["KAPPA_BIN"]
    if not _built:
        out = os.path.join(tempfile.mkdtemp(prefix="kappa-pytest-"), "kappa")
        subprocess.run(["go", "build", "-o", out, "./cmd/kappa"], cwd=REPO, check=True)
        _built.append(out)
    return _built[0]


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def result(self):
        """The job's result (the JSON `kappa run` prints last on stdout)."""
        assert self.code == 0, f"kappa run exited {self.code}:\n{self.stderr[-4000:]}"
        return json.loads(self.stdout.strip().splitlines()[-1])


def run_program(program: str | os.PathLike, event=None, *args: str, tmp_path=None, timeout: float = 180) -> Run:
    """Runs a program file (or source text, when it holds a newline)."""
    path = str(program)
    if "\n" in path:
        directory = tmp_path or pathlib.Path(tempfile.mkdtemp(prefix="kappa-prog-"))
        file = pathlib.Path(directory) / "prog.py"
        file.write_text(textwrap.dedent(path))
        path = str(file)
    cmd = [kappa_binary(), "run", path, "--event", json.dumps(event or {}), *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO)
    return Run(p.returncode, p.stdout, p.stderr)
