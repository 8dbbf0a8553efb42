"""A local driver for directory programs, the way workers load them
(kappa.worker.program: the bundle, the import hook, a fresh module per
invocation), without a coordinator.

`run_compiled` runs the handler in segments, each in a fresh interpreter:
a segment runs until the policy takes a pause, dumps the state, and the
next segment restores it in a new interpreter. `run_plain` runs the same
files under plain CPython (imported from a directory on sys.path), the
reference a differential test compares with.

    python dirdriver.py JOB REPORT      (one segment; used by the functions)
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pickle
import subprocess
import sys
import tempfile
import textwrap
import zipfile

from runtime.driver import TESTS_DIR, Every


def bundle(files: dict[str, str]) -> bytes:
    """A directory program's bundle, as checkpoint.BuildBundle makes it."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in sorted(files.items()):
            z.writestr(name, textwrap.dedent(text))
        z.writestr("kappa.json", json.dumps({"format": 1, "entry": "main.py"}))
    return buf.getvalue()


def run_compiled(files: dict[str, str], event, policy=None, max_segments: int = 500):
    """(stdout, result, segments) of the compiled program; every segment
    runs in a fresh interpreter. An error in the program raises
    AssertionError with its traceback."""
    job = {"mode": "compiled", "bundle": bundle(files), "event": event, "blob": None,
           "policy": policy or Every(auto=False)}
    out = []
    for segment in range(1, max_segments + 1):
        report = _child(job)
        out.append(report["stdout"])
        if report["error"]:
            raise AssertionError(f"segment {segment} failed:\n{report['error']}")
        if report["blob"] is None:
            return "".join(out), report["result"], segment
        job.update(blob=report["blob"], policy=report["policy"])
    raise AssertionError(f"no result after {max_segments} segments")


def run_plain(files: dict[str, str], event):
    """(stdout, result) of the uncompiled program on plain CPython."""
    report = _child({"mode": "plain", "bundle": bundle(files), "event": event})
    if report["error"]:
        raise AssertionError(f"plain run failed:\n{report['error']}")
    return report["stdout"], report["result"]


def _child(job, timeout: float = 120):
    with tempfile.TemporaryDirectory(prefix="kappa-dirdriver-") as tmp:
        job_path, report_path = os.path.join(tmp, "job"), os.path.join(tmp, "report")
        with open(job_path, "wb") as f:
            pickle.dump(job, f, protocol=5)
        pythonpath = os.pathsep.join(filter(None, [TESTS_DIR, os.environ.get("PYTHONPATH")]))
        env = dict(os.environ, PYTHONHASHSEED="0", PYTHONPATH=pythonpath)
        proc = subprocess.run([sys.executable, __file__, job_path, report_path],
                              capture_output=True, text=True, timeout=timeout, env=env)
        if proc.returncode != 0 or not os.path.exists(report_path):
            raise AssertionError(f"driver child failed (exit {proc.returncode}):\n{proc.stderr}")
        with open(report_path, "rb") as f:
            return pickle.load(f)


# -- in the fresh interpreter ---------------------------------------------------


def _segment(job) -> dict:
    from runtime.driver import run_segment

    from kappa.runtime import Call, Resume, load_state
    from kappa.worker.program import from_bundle

    program = from_bundle("test", job["bundle"])
    out = io.StringIO()
    restoring = job["blob"] is not None
    # Module code printed in the first segment; a restore re-imports silently.
    with contextlib.redirect_stdout(io.StringIO() if restoring else out):
        module = program.fresh_module(restoring=restoring)
    if restoring:
        frames, _request = load_state(job["blob"], module)
        start = Resume(frames, None, module=module)
    else:
        start = Call(module.handler, (job["event"], None), {})
    outcome, blob = run_segment(module, start, job["policy"], out)
    error = None
    if outcome is not None and outcome.error_type:
        error = outcome.traceback or f"{outcome.error_type}: {outcome.error_message}"
    return {"stdout": out.getvalue(), "blob": blob, "policy": job["policy"], "error": error,
            "result": None if outcome is None else outcome.value}


def _plain(job) -> dict:
    out = io.StringIO()
    with tempfile.TemporaryDirectory(prefix="kappa-plain-") as root:
        with zipfile.ZipFile(io.BytesIO(job["bundle"])) as z:
            z.extractall(root)
        sys.path.insert(0, root)
        try:
            with contextlib.redirect_stdout(out):
                import main  # noqa: PLC0415 - the program under test
                result = main.handler(job["event"], None)
        except Exception:  # noqa: BLE001 - reported to the test
            import traceback
            return {"stdout": out.getvalue(), "result": None, "error": traceback.format_exc()}
    return {"stdout": out.getvalue(), "result": result, "error": None}


def main(job_path: str, report_path: str) -> None:
    with open(job_path, "rb") as f:
        job = pickle.load(f)
    report = _plain(job) if job["mode"] == "plain" else _segment(job)
    with open(report_path, "wb") as f:
        pickle.dump(report, f, protocol=5)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
