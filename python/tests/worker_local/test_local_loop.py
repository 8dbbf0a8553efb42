"""The worker loop in-process: framing, handler loading, one invocation, serve."""

import json
import os
import time

import pytest

from kappa.worker import local
from worker_local import handlers


def request(op=None, request_id="req-1", timeout_ms=10_000, **fields):
    payload = dict(fields, op=op) if op else fields
    return {"type": "invoke", "request_id": request_id, "function": "fn",
            "deadline_unix_ms": int(time.time() * 1000) + timeout_ms,
            "timeout_ms": timeout_ms, "payload": payload}


def test_frames_round_trip_and_eof():
    r, w = os.pipe()
    local.write_message(w, {"a": [1, "é"]})
    local.write_frame(w, b"{}")
    os.close(w)
    assert local.read_message(r) == {"a": [1, "é"]}
    assert local.read_message(r) == {}
    assert local.read_message(r) is None
    os.close(r)


def test_truncated_frame_is_a_protocol_error():
    r, w = os.pipe()
    os.write(w, (10).to_bytes(4, "big") + b"{}")
    os.close(w)
    with pytest.raises(local.ProtocolError):
        local.read_message(r)
    os.close(r)


@pytest.mark.parametrize("spec, error_type", [
    ("no_colon", "Runtime.MalformedHandlerName"),
    ("worker_local.broken_import:handler", "Runtime.ImportModuleError"),
    ("worker_local.no_such_module:handler", "Runtime.ImportModuleError"),
    ("worker_local.handlers:no_such_function", "Runtime.HandlerNotFound"),
])
def test_load_handler_errors(spec, error_type):
    with pytest.raises(local.HandlerLoadError) as info:
        local.load_handler(spec)
    assert info.value.error["errorType"] == error_type


def test_load_handler_dotted():
    assert local.load_handler("worker_local.handlers:OPS.get") == handlers.OPS.get


def test_invoke_ok():
    reply = json.loads(local.invoke(handlers.dispatch, request("echo", x=1)))
    assert reply == {"type": "result", "request_id": "req-1", "ok": True, "payload": {"op": "echo", "x": 1}}


def test_invoke_error_has_users_stack_only(capsys):
    reply = json.loads(local.invoke(handlers.dispatch, request("fail", message="nope")))
    assert reply["ok"] is False
    error = reply["error"]
    assert (error["errorType"], error["errorMessage"]) == ("ValueError", "nope")
    trace = "".join(error["stackTrace"])
    assert "handlers.py" in trace and "local.py" not in trace
    assert "[ERROR] ValueError: nope" in capsys.readouterr().err


@pytest.mark.parametrize("value, named", [({1, 2}, "set"), (float("nan"), "Out of range"), (object(), "object")])
def test_unserializable_result_names_its_type(value, named):
    reply = json.loads(local.invoke(lambda event, ctx: value, request()))
    assert reply["error"]["errorType"] == "Runtime.MarshalError"
    assert named in reply["error"]["errorMessage"]


def test_context_passed_to_handler():
    seen = {}

    def handler(event, ctx):
        seen["ctx"] = ctx
        return ctx.get_remaining_time_in_millis()

    reply = json.loads(local.invoke(handler, request(timeout_ms=5000)))
    assert 0 < reply["payload"] <= 5000
    assert seen["ctx"].aws_request_id == "req-1" and seen["ctx"].function_name == "fn"


def test_serve_answers_until_eof_and_marks_output():
    req_r, req_w = os.pipe()
    resp_r, resp_w = os.pipe()
    out_r, out_w = os.pipe()
    for i in range(2):
        local.write_message(req_w, request("echo", request_id="r%d" % i, i=i))
    os.close(req_w)
    local.serve(handlers.dispatch, req_r, resp_w, marker_fds=(out_w,))
    os.close(resp_w)
    os.close(out_w)
    replies = [local.read_message(resp_r), local.read_message(resp_r)]
    assert [r["payload"]["i"] for r in replies] == [0, 1]
    assert local.read_message(resp_r) is None
    assert os.read(out_r, 1000) == local.END_MARKER + b"r0\n" + local.END_MARKER + b"r1\n"
    for fd in (req_r, resp_r, out_r):
        os.close(fd)


def test_serve_rejects_unknown_messages():
    req_r, req_w = os.pipe()
    local.write_message(req_w, {"type": "dance"})
    os.close(req_w)
    with pytest.raises(local.ProtocolError):
        local.serve(handlers.dispatch, req_r, -1)
    os.close(req_r)
