"""One segment of a driver run in a fresh interpreter.

    python -m runtime.driver_child JOB REPORT   (with python/tests on sys.path)

JOB is a pickle {source, filename, module_name, blob, policy}. The child
compiles the program, loads it, loads the state from the blob and runs
until the task ends or pauses again; REPORT gets {stdout, blob (if it
paused), value/value_repr or error_type/error_message/traceback, policy}.
"""

import contextlib
import io
import pickle
import sys


def main(job_path, report_path):
    from kappa.compiler import compile_source
    from kappa.runtime.loader import load_program
    from kappa.runtime.run import Resume
    from kappa.runtime.state import load_state

    from .driver import run_segment

    with open(job_path, "rb") as f:
        job = pickle.load(f)
    compiled = compile_source(job["source"], job["filename"])
    with contextlib.redirect_stdout(io.StringIO()):
        module = load_program(compiled, job["module_name"])
    frames, _request = load_state(job["blob"], module)
    out = io.StringIO()
    outcome, blob = run_segment(module, Resume(frames, None, module=module), job["policy"], out)
    report = {"stdout": out.getvalue(), "blob": blob, "policy": job["policy"],
              "value": None, "value_repr": None, "error_type": None,
              "error_message": None, "traceback": None}
    if outcome is not None:
        report.update(value_repr=outcome.value_repr, error_type=outcome.error_type,
                      error_message=outcome.error_message, traceback=outcome.traceback)
        try:
            report["value"] = pickle.dumps(outcome.value, protocol=5)
        except Exception:  # noqa: BLE001 - the repr is enough then
            pass
    with open(report_path, "wb") as f:
        pickle.dump(report, f, protocol=5)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
