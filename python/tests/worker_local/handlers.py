"""Handlers for tests of the local lambda worker (Python and Go tests).

`dispatch` routes on event["op"] so one platform can exercise many
behaviours; the other functions are the behaviours themselves.
"""

import os
import signal
import subprocess
import sys
import time


def echo(event, context):
    return event


def pid(event, context):
    return os.getpid()


def fail(event, context):
    raise ValueError(event.get("message", "boom"))


def unserializable(event, context):
    return {"a set": {1, 2}}


def sleep(event, context):
    print("pid=%d" % os.getpid(), flush=True)
    time.sleep(event["seconds"])
    return "slept"


def sleep_with_child(event, context):
    """Sleep with a child process that should die with us."""
    child = subprocess.Popen(["sleep", "600"])
    print("pid=%d child=%d" % (os.getpid(), child.pid), flush=True)
    time.sleep(event["seconds"])
    return "slept"


def crash(event, context):
    print("about to die", flush=True)
    if event.get("how") == "exit":
        os._exit(event.get("code", 3))
    os.kill(os.getpid(), signal.SIGKILL)


def print_lines(event, context):
    """Print n tagged lines on each stream; the last one without a newline."""
    tag, n = event["tag"], event["n"]
    for i in range(n):
        end = "" if i == n - 1 else "\n"
        print("%s out %d" % (tag, i), end=end)
        print("%s err %d" % (tag, i), end=end, file=sys.stderr)
        time.sleep(event.get("pause", 0))
    return n


def remaining(event, context):
    first = context.get_remaining_time_in_millis()
    time.sleep(event.get("seconds", 0.3))
    second = context.get_remaining_time_in_millis()
    return {
        "first": first,
        "second": second,
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "invoked_function_arn": context.invoked_function_arn,
        "function_version": context.function_version,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
    }


def record(event, context):
    """Write this invocation's start and end times to a file in event["dir"],
    for checking from outside how many ran at once."""
    start = time.time()
    time.sleep(event["seconds"])
    end = time.time()
    path = os.path.join(event["dir"], context.aws_request_id)
    with open(path, "w") as f:
        f.write("%r %r\n" % (start, end))
    return "recorded"


def env(event, context):
    return {k: os.environ.get(k) for k in event["keys"]}


def alloc(event, context):
    """Allocate and touch event["mb"] megabytes (for memory-limit tests)."""
    block = bytearray(event["mb"] << 20)
    return len(block) >> 20


def noop(event, context):
    """Does nothing: for measuring the platform's own overhead."""
    return None


OPS = {f.__name__: f for f in (echo, pid, fail, unserializable, sleep, sleep_with_child,
                               crash, print_lines, remaining, record, env, alloc, noop)}


def dispatch(event, context):
    return OPS[event["op"]](event, context)
