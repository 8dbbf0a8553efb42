"""The loop of one local lambda worker process.

Run by Kappa's local lambda platform (lambda/local in the Go tree) as::

    python -m kappa.worker.local --handler module:function

The platform talks to the worker over two inherited pipes, leaving stdout and
stderr to the user's code (the platform captures them as logs):

* fd 3 carries requests from the platform, fd 4 carries responses back;
* each message is a 4-byte big-endian length followed by that much JSON;
* after importing the handler the worker sends ``{"type":"ready","pid":N}``
  (or ``{"type":"init_error","error":{...}}`` and exits 1 if it cannot load it);
* then, per ``{"type":"invoke","request_id","function","deadline_unix_ms",
  "timeout_ms","payload"}``, it calls ``handler(payload, context)`` and answers
  ``{"type":"result","request_id","ok":true,"payload":<json>}`` or
  ``{"type":"result","request_id","ok":false,"error":{"errorMessage",
  "errorType","stackTrace"}}``;
* EOF on fd 3 means exit 0.

Before each result the worker flushes stdout and stderr and writes an end
marker on both, so the platform knows which output belongs to which request.

Start-up time counts, so only small stdlib modules are imported here; the
rest is imported when first needed.
"""

import json
import os
import sys
import time

REQUEST_FD = 3
RESPONSE_FD = 4
END_MARKER = b"\x00kappa:end:"  # must match endMarker in lambda/local/logs.go
MAX_FRAME = 64 << 20  # must match maxFrame in lambda/local/protocol.go


class ProtocolError(Exception):
    """The platform sent something this worker does not understand."""


class HandlerLoadError(Exception):
    """The handler cannot be loaded; ``error`` is Lambda's error payload."""

    def __init__(self, error):
        super().__init__(error["errorMessage"])
        self.error = error


class LambdaContext:
    """The ``context`` argument, shaped like AWS Lambda's Python context."""

    function_version = "$LATEST"
    identity = None
    client_context = None

    def __init__(self, request_id, function_name, deadline_unix_ms):
        self.aws_request_id = request_id
        self.function_name = function_name
        self.invoked_function_arn = "arn:aws:lambda:local:000000000000:function:" + function_name
        # A string, as on AWS, where it comes from the environment too.
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = "/aws/lambda/" + function_name
        self.log_stream_name = "%s/[$LATEST]%d" % (time.strftime("%Y/%m/%d"), os.getpid())
        self._deadline_ms = deadline_unix_ms

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def __repr__(self):
        return "LambdaContext(aws_request_id=%r, function_name=%r, remaining_ms=%d)" % (
            self.aws_request_id, self.function_name, self.get_remaining_time_in_millis())


# Framing -------------------------------------------------------------------

def _read_exact(fd, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            break
        buf += chunk
    return bytes(buf)


def read_message(fd):
    """The next message from fd as a dict, or None at a clean EOF."""
    header = _read_exact(fd, 4)
    if not header:
        return None
    if len(header) < 4:
        raise ProtocolError("truncated message header")
    n = int.from_bytes(header, "big")
    if n > MAX_FRAME:
        raise ProtocolError("message of %d bytes exceeds the limit" % n)
    body = _read_exact(fd, n)
    if len(body) < n:
        raise ProtocolError("truncated message body")
    return json.loads(body)


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def write_frame(fd, body):
    """Write one message whose JSON is already encoded."""
    _write_all(fd, len(body).to_bytes(4, "big") + body)


def write_message(fd, message):
    write_frame(fd, json.dumps(message).encode())


# Handler -------------------------------------------------------------------

def error_payload(exc, error_type=None, message=None, skip_frames=0):
    """Lambda's error JSON for exc; skip_frames drops this module's frames."""
    import traceback

    tb = exc.__traceback__
    for _ in range(skip_frames):
        if tb is not None:
            tb = tb.tb_next
    if message is None:
        try:
            message = str(exc)
        except Exception:
            message = "<unprintable %s>" % type(exc).__name__
    return {
        "errorMessage": message,
        "errorType": error_type or type(exc).__name__,
        "stackTrace": traceback.format_list(traceback.extract_tb(tb)),
    }


def load_handler(spec):
    """Import "module:function" (function may be dotted: "module:obj.method")."""
    import importlib

    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise HandlerLoadError({"errorMessage": "Bad handler %r: expected \"module:function\"" % spec,
                                "errorType": "Runtime.MalformedHandlerName", "stackTrace": []})
    try:
        obj = importlib.import_module(module_name)
    except Exception as exc:
        message = "Unable to import module %r: %s" % (module_name, exc)
        raise HandlerLoadError(error_payload(exc, "Runtime.ImportModuleError", message)) from exc
    for part in attr.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            break
    if not callable(obj):
        raise HandlerLoadError({"errorMessage": "Handler %r missing on module %r" % (attr, module_name),
                                "errorType": "Runtime.HandlerNotFound", "stackTrace": []})
    return obj


def invoke(handler, request):
    """Run one invoke request; return the encoded result message."""
    request_id = request["request_id"]
    function_name = request.get("function") or os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or "local"
    context = LambdaContext(request_id, function_name, int(request["deadline_unix_ms"]))
    try:
        result = handler(request.get("payload"), context)
    except Exception as exc:
        # Our own frame (the call above) is not part of the user's trace.
        return _error_result(request_id, error_payload(exc, skip_frames=1))
    try:
        payload = json.dumps(result, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        error = {"errorMessage": "Unable to marshal response: %s" % exc,
                 "errorType": "Runtime.MarshalError", "stackTrace": []}
        return _error_result(request_id, error)
    return ('{"type":"result","request_id":%s,"ok":true,"payload":%s}'
            % (json.dumps(request_id), payload)).encode()


def _error_result(request_id, error):
    # Lambda logs unhandled errors too, so they appear in the captured output.
    print("[ERROR] %s: %s" % (error["errorType"], error["errorMessage"]), file=sys.stderr)
    sys.stderr.write("".join(error["stackTrace"]))
    return json.dumps({"type": "result", "request_id": request_id, "ok": False, "error": error}).encode()


# Loop ----------------------------------------------------------------------

def _flush_output():
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except Exception:
            pass  # the user closed or replaced it; nothing of ours to flush


def _end_output(marker_fds, request_id):
    """Mark the end of this request's output on both streams."""
    _flush_output()
    marker = END_MARKER + request_id.encode() + b"\n"
    for fd in marker_fds:
        try:
            _write_all(fd, marker)
        except OSError:
            pass  # the platform then waits a little and moves on


def serve(handler, request_fd=REQUEST_FD, response_fd=RESPONSE_FD, marker_fds=()):
    """Answer invoke requests until EOF on request_fd."""
    while True:
        request = read_message(request_fd)
        if request is None:
            return
        if request.get("type") != "invoke":
            raise ProtocolError("unexpected message type %r" % request.get("type"))
        reply = invoke(handler, request)
        _end_output(marker_fds, request["request_id"])
        write_frame(response_fd, reply)


def parse_args(argv):
    if len(argv) == 2 and argv[0] == "--handler":
        return argv[1]
    if len(argv) == 1 and argv[0].startswith("--handler="):
        return argv[0][len("--handler="):]
    raise SystemExit("usage: python -m kappa.worker.local --handler module:function")


def main(argv=None):
    spec = parse_args(sys.argv[1:] if argv is None else argv)
    # Keep the protocol pipes out of processes the handler starts.
    os.set_inheritable(REQUEST_FD, False)
    os.set_inheritable(RESPONSE_FD, False)
    # Markers go to our own copies of stdout and stderr, so they still reach
    # the platform if the handler redirects fd 1 or 2.
    marker_fds = (os.dup(1), os.dup(2))
    try:
        handler = load_handler(spec)
    except HandlerLoadError as exc:
        print("[ERROR] %s: %s" % (exc.error["errorType"], exc.error["errorMessage"]), file=sys.stderr)
        _flush_output()
        write_message(RESPONSE_FD, {"type": "init_error", "error": exc.error})
        return 1
    write_message(RESPONSE_FD, {"type": "ready", "pid": os.getpid()})
    serve(handler, REQUEST_FD, RESPONSE_FD, marker_fds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
