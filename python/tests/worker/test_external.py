"""External calls and on-coordinator tasks through the real coordinator:
the idempotency key stays the same across lambda timeouts while the attempt
count rises; an @on_coordinator task outlives the lambda time limit."""

import re

from worker.kapparun import run_program

PROGRAM = """
import time
from kappa import call_external, checkpoint, current_task, on_coordinator, spawn

def slow_effect(call, steps):
    seen = [(call.key, call.attempt)]
    for _ in range(steps):
        time.sleep(0.3)
        checkpoint()                 # crosses several one-second lambdas
    seen.append((call.key, call.attempt))
    return seen

def quick_effect(call, x, scale=1):
    return [call.key, x * scale]

@on_coordinator
def long_step():
    time.sleep(2.5)                  # longer than a lambda may run
    me = current_task()
    return [me.on_coordinator, me.attempt]

def handler(event, context):
    seen = call_external(slow_effect, 8)
    future = spawn(quick_effect, (21,), external=True)
    again = call_external(quick_effect, 2, scale=5)
    return {"slow": seen, "quick": future.wait(), "kwargs": again, "coordinator": spawn(long_step, (), blocking=True)}
"""


def test_keys_stay_the_same_across_timeouts_and_attempts_rise(tmp_path):
    r = run_program(PROGRAM, {}, "--lambda-timeout", "1s", tmp_path=tmp_path)
    out = r.result
    (key0, attempt0), (key1, attempt1) = out["slow"]
    assert re.fullmatch(r"kappa/[\w-]+/j1/t2", key0), key0
    assert key1 == key0
    assert attempt0 == 1 and attempt1 > 1, out["slow"]
    assert re.fullmatch(r"kappa/[\w-]+/j1/t3", out["quick"][0]) and out["quick"][1] == 21
    assert out["kwargs"][0].endswith("/j1/t4") and out["kwargs"][1] == 10
    assert out["coordinator"] == [True, 1]
