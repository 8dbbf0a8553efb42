"""The worker as a real process, wired up like the Go platform does it."""

import fcntl
import os
import pathlib
import subprocess
import sys
import time

from kappa.worker import local

TESTS_DIR = pathlib.Path(__file__).resolve().parent.parent


class Worker:
    """A worker process with fd 3 and fd 4 connected to us."""

    def __init__(self, handler):
        req_r, self.requests = os.pipe()
        self.responses, resp_w = os.pipe()
        # Above 4, so placing them on 3 and 4 in the child cannot clobber one.
        child_r = fcntl.fcntl(req_r, fcntl.F_DUPFD, 10)
        child_w = fcntl.fcntl(resp_w, fcntl.F_DUPFD, 10)

        def wire():
            os.dup2(child_r, 3)
            os.dup2(child_w, 4)

        env = dict(os.environ, PYTHONPATH=str(TESTS_DIR), PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kappa.worker.local", "--handler", handler],
            # close_fds would run after wire() and close 3 and 4 again; our
            # other descriptors are non-inheritable anyway.
            close_fds=False, preexec_fn=wire, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for fd in (req_r, resp_w, child_r, child_w):
            os.close(fd)

    def send(self, message):
        local.write_message(self.requests, message)

    def receive(self):
        return local.read_message(self.responses)

    def finish(self):
        """EOF on fd 3; returns exit code, stdout, stderr."""
        os.close(self.requests)
        out, err = self.proc.communicate(timeout=60)
        os.close(self.responses)
        return self.proc.returncode, out, err


def invoke_message(request_id, payload, timeout_ms=60_000):
    return {"type": "invoke", "request_id": request_id, "function": "fn",
            "deadline_unix_ms": int(time.time() * 1000) + timeout_ms, "timeout_ms": timeout_ms,
            "payload": payload}


def test_ready_invoke_and_clean_exit():
    w = Worker("worker_local.handlers:dispatch")
    ready = w.receive()
    assert ready == {"type": "ready", "pid": w.proc.pid}
    w.send(invoke_message("r1", {"op": "print_lines", "tag": "a", "n": 2}))
    assert w.receive() == {"type": "result", "request_id": "r1", "ok": True, "payload": 2}
    w.send(invoke_message("r2", {"op": "pid"}))
    assert w.receive()["payload"] == w.proc.pid
    code, out, err = w.finish()
    assert code == 0
    assert out == b"a out 0\na out 1" + local.END_MARKER + b"r1\n" + local.END_MARKER + b"r2\n"
    assert err.startswith(b"a err 0\na err 1" + local.END_MARKER + b"r1\n")


def test_init_error_is_reported_then_exits():
    w = Worker("worker_local.broken_import:handler")
    message = w.receive()
    assert message["type"] == "init_error"
    assert message["error"]["errorType"] == "Runtime.ImportModuleError"
    assert "broken on purpose" in message["error"]["errorMessage"]
    code, _, err = w.finish()
    assert code == 1
    assert b"broken on purpose" in err


def test_protocol_fds_are_not_inherited_by_children():
    w = Worker("worker_local.handlers:dispatch")
    w.receive()
    w.send(invoke_message("r1", {"op": "env", "keys": []}))
    w.receive()
    flags = {fd: _fd_flags(w.proc.pid, fd) for fd in (3, 4)}
    w.finish()
    assert all(f & os.O_CLOEXEC for f in flags.values()), flags


def _fd_flags(pid, fd):
    for line in pathlib.Path("/proc/%d/fdinfo/%d" % (pid, fd)).read_text().splitlines():
        if line.startswith("flags:"):
            return int(line.split()[1], 8)
    raise AssertionError("no flags for fd %d" % fd)


def test_imports_nothing_heavy():
    code = ("import sys, kappa.worker; before = set(sys.modules); import kappa.worker.local; "
            "print(' '.join(sorted(set(sys.modules) - before)))")
    added = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert set(added) <= {"kappa.worker.local", "json", "json.decoder", "json.scanner", "json.encoder",
                          "_json", "re", "enum", "sre_compile", "sre_parse", "sre_constants"}, added
