"""A local driver: run a program to completion, pausing by policy.

At every pause the policy takes, the driver dumps the state and continues
from the bytes: in this process, in a freshly loaded module, or in a fresh
interpreter (driver_child.py) that runs one segment and reports back. The
program's stdout and result are collected, so a test can compare a plain
CPython run with a compiled run that was checkpointed anywhere.

    cd python/tests && python -m runtime.driver app.py --entry main --policy every --restore subprocess

A test tool, not part of the kappa package: workers never pause this way.
"""

import argparse
import contextlib
import io
import os
import pickle
import random
import subprocess
import sys
import tempfile
import types
from dataclasses import dataclass

from kappa.runtime import core
from kappa.runtime.core import Capture
from kappa.runtime.loader import DEFAULT_MODULE, load_program
from kappa.runtime.run import Call, Resume, run
from kappa.runtime.state import dump_state, load_state
from kappa.runtime.tracebacks import format_user_traceback

# The tests directory: the child interpreter imports this package (and the
# policies pickled in its job) from there.
TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# -- policies -------------------------------------------------------------------


class Policy:
    """Decides which pause opportunities become real pauses. With `auto`,
    the driver sets the pending flag before every segment, so every legal
    function entry is an opportunity too."""
    auto = False

    def take(self, request):
        return False


class Never(Policy):
    """No pauses at all: checkpoint() returns at once."""

    def __init__(self, auto=False):
        self.auto = auto


class Every(Policy):
    def __init__(self, auto=True):
        self.auto = auto

    def take(self, request):
        return True


class EveryKth(Policy):
    def __init__(self, k, auto=True):
        self.k, self.auto, self.seen = k, auto, 0

    def take(self, request):
        self.seen += 1
        return self.seen % self.k == 0


class RandomPauses(Policy):
    def __init__(self, seed, p=0.3, auto=True):
        self.rng, self.p, self.auto = random.Random(seed), p, auto

    def take(self, request):
        return self.rng.random() < self.p


# -- outcomes -------------------------------------------------------------------


@dataclass
class Outcome:
    stdout: str
    value: object = None
    value_repr: str = "None"
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None      # the user's traceback (program frames only)
    error: BaseException | None = None  # the exception itself, when raised in this process
    pauses: int = 0
    subprocesses: int = 0

    def observable(self):
        """What a differential test compares."""
        return (self.stdout, self.value_repr, self.error_type, self.error_message)


def _finished(stdout, value):
    return Outcome(stdout, value, repr(value))


def _failed(stdout, error):
    return Outcome(stdout, None, "None", type(error).__name__, str(error),
                   format_user_traceback(error), error)


# -- runs -----------------------------------------------------------------------


def run_plain(source, entry="main", args=(), kwargs=None, filename="<program>", seed=0,
              module_name=DEFAULT_MODULE):
    """The reference: the uncompiled program on plain CPython."""
    random.seed(seed)
    out = io.StringIO()
    module = types.ModuleType(module_name)
    module.__file__ = filename
    sys.modules[module_name] = module
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(source, filename, "exec", dont_inherit=True), module.__dict__)
            value = getattr(module, entry)(*args, **(kwargs or {}))
    except Exception as error:  # noqa: BLE001 - the program's own error is an outcome
        return _failed(out.getvalue(), error)
    return _finished(out.getvalue(), value)


def run_program(source, entry="main", args=(), kwargs=None, *, filename="<program>",
                policy=None, restore="inprocess", subprocess_every=None, seed=0,
                compiled=None, module_name=DEFAULT_MODULE):
    """Compile and run `entry(*args, **kwargs)` to completion.

    restore: 'inprocess' (load the blob into a fresh module here) or
    'subprocess' (continue in a fresh interpreter). With subprocess_every=k
    only every k-th pause goes to a fresh interpreter, the others stay here.
    """
    if compiled is None:
        from kappa.compiler import compile_source
        compiled = compile_source(source, filename)
    return Driver(compiled, policy or Never(), restore, subprocess_every, module_name).run(
        entry, args, kwargs, seed)


def run_file(path, entry="main", args=(), kwargs=None, **options):
    with open(path, encoding="utf-8") as f:
        source = f.read()
    return run_program(source, entry, args, kwargs, filename=str(path), **options)


class Driver:
    def __init__(self, compiled, policy, restore, subprocess_every, module_name):
        if restore not in ("inprocess", "subprocess"):
            raise ValueError(f"restore must be 'inprocess' or 'subprocess', not {restore!r}")
        self.compiled = compiled
        self.policy = policy
        self.restore = restore
        self.subprocess_every = subprocess_every
        self.module_name = module_name
        self.out = io.StringIO()
        self.pauses = 0
        self.children = 0

    def run(self, entry, args, kwargs, seed):
        random.seed(seed)
        old_filter = core.set_pause_filter(None)
        try:
            with contextlib.redirect_stdout(self.out):
                module = load_program(self.compiled, self.module_name)
            outcome, blob = self._segment(module, Call(getattr(module, entry), args, kwargs))
            while blob is not None:
                self.pauses += 1
                if self._to_child():
                    outcome, blob = self._child_segment(blob)
                else:
                    outcome, blob = self._restored_segment(blob)
        except Exception as error:  # noqa: BLE001 - PauseError, UnpicklableError, ...
            outcome = _failed(self.out.getvalue(), error)
        finally:
            core.set_pause_filter(old_filter)
            core.clear_pause()
        outcome.pauses, outcome.subprocesses = self.pauses, self.children
        return outcome

    def _to_child(self):
        if self.restore == "subprocess":
            return True
        return bool(self.subprocess_every) and self.pauses % self.subprocess_every == 0

    def _segment(self, module, start):
        """Run until the end or the next pause: (outcome, None) or (None, blob)."""
        return run_segment(module, start, self.policy, self.out)

    def _restored_segment(self, blob):
        with contextlib.redirect_stdout(io.StringIO()):   # module code already printed once
            module = load_program(self.compiled, self.module_name)
        frames, _request = load_state(blob, module)
        return self._segment(module, Resume(frames, None, module=module))

    def _child_segment(self, blob):
        self.children += 1
        job = {"source": self.compiled.original, "filename": self.compiled.filename,
               "module_name": self.module_name, "blob": blob, "policy": self.policy}
        report = run_child(job)
        self.out.write(report["stdout"])
        self.policy = report["policy"]
        if report["blob"] is not None:
            return None, report["blob"]
        if report["error_type"] is not None:
            return Outcome(self.out.getvalue(), None, "None", report["error_type"],
                           report["error_message"], report["traceback"]), None
        return Outcome(self.out.getvalue(), _unpickle(report["value"]), report["value_repr"]), None


def run_segment(module, start, policy, out):
    """One segment in this process, under `policy`."""
    core.set_pause_filter(policy.take)
    if policy.auto:
        core.request_pause()
    try:
        with contextlib.redirect_stdout(out):
            value = run(start)
    except Capture as capture:
        frames, request = capture.frames, capture.request
        del capture   # drop the traceback and its frames before pickling
        return None, dump_state(frames, module, request)
    except Exception as error:  # noqa: BLE001
        return _failed(out.getvalue(), error), None
    finally:
        core.clear_pause()
    return _finished(out.getvalue(), value), None


# -- fresh interpreters -----------------------------------------------------------


def run_child(job, timeout=120):
    """Run driver_child in a fresh interpreter on `job`; return its report."""
    with tempfile.TemporaryDirectory(prefix="kappa-driver-") as tmp:
        job_path, report_path = os.path.join(tmp, "job"), os.path.join(tmp, "report")
        with open(job_path, "wb") as f:
            pickle.dump(job, f, protocol=5)
        env = dict(os.environ)
        env.setdefault("PYTHONHASHSEED", "0")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [TESTS_DIR, env.get("PYTHONPATH")]))
        proc = subprocess.run([sys.executable, "-m", __package__ + ".driver_child", job_path, report_path],
                              capture_output=True, text=True, timeout=timeout, env=env)
        if proc.returncode != 0 or not os.path.exists(report_path):
            raise RuntimeError(f"driver child failed (exit {proc.returncode}): {proc.stderr.strip()}")
        with open(report_path, "rb") as f:
            return pickle.load(f)


def _unpickle(data):
    if data is None:
        return None
    try:
        return pickle.loads(data)
    except Exception:  # noqa: BLE001 - a value only the child could rebuild
        return None


# -- command line -------------------------------------------------------------------


def _policy(name, k, seed):
    return {"never": lambda: Never(), "every": lambda: Every(),
            "every-k": lambda: EveryKth(k), "random": lambda: RandomPauses(seed)}[name]()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m runtime.driver", description=__doc__.split("\n")[0])
    parser.add_argument("program")
    parser.add_argument("--entry", default="main")
    parser.add_argument("--policy", choices=["never", "every", "every-k", "random"], default="every")
    parser.add_argument("-k", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--restore", choices=["inprocess", "subprocess"], default="inprocess")
    args = parser.parse_args(argv)
    outcome = run_file(args.program, args.entry, policy=_policy(args.policy, args.k, args.seed),
                       restore=args.restore)
    sys.stdout.write(outcome.stdout)
    print(f"-- {outcome.pauses} pauses, {outcome.subprocesses} fresh interpreters", file=sys.stderr)
    if outcome.error_type:
        sys.stderr.write(outcome.traceback or f"{outcome.error_type}: {outcome.error_message}\n")
        return 1
    print(f"-- result: {outcome.value_repr}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
