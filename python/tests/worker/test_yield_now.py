"""HeartbeatResponse.yield_now (the leader is about to hand over): the task
yields at its next pause point, and a blocked call parks without waiting."""

import time

import pytest

from kappa import runtime
from kappa.v1 import task_pb2 as pb
from kappa.worker.pacer import Heartbeat, Pacer
from kappa.worker.task import Ended, Spec, TaskRun


class Context:
    def get_remaining_time_in_millis(self):
        return 10**12      # an on-coordinator task: no time limit


class FakeClient:
    def __init__(self):
        self.polls = 0
        self.parks = 0

    def heartbeat(self, ref):
        return pb.HeartbeatResponse(yield_now=True)

    def poll(self, ref, seq):
        self.polls += 1
        return pb.PollResponse(ready=False)

    def park(self, ref, seq):
        self.parks += 1
        return pb.ParkResponse(parked=True)


def test_yield_now_raises_the_pause_flag_and_keeps_it_raised():
    pacer = Pacer(Context(), interval=3600)
    hb = Heartbeat(FakeClient(), pb.TaskRef(), interval=0.01, pacer=pacer)
    pacer.start()
    hb.start()
    try:
        deadline = time.monotonic() + 5
        while not pacer.yield_due and time.monotonic() < deadline:
            time.sleep(0.01)
        assert pacer.yield_due and runtime.is_pending()
        # A checkpoint clears the flag; the pacer raises it again, because
        # the yield is still due (only a yield ends it).
        pacer.checkpointed(0.001)
        deadline = time.monotonic() + 5
        while not runtime.is_pending() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert runtime.is_pending()
    finally:
        hb.stop()
        pacer.stop()


def test_a_blocked_call_parks_at_once_when_a_yield_is_due(tmp_path):
    spec = Spec(coordinator=["127.0.0.1:1"], store=str(tmp_path), job=1, task=2, epoch=1, invocation="i",
                program="p", busy_wait=30)
    run = TaskRun(spec, Context())
    run.client = FakeClient()
    run.claimed = True  # a blocked call was sent under the claim
    run.pacer.yield_due = True
    t0 = time.monotonic()
    with pytest.raises(Ended, match="parked"):
        run.block(not_running=0)
    assert time.monotonic() - t0 < 15  # far below the 30 s busy-wait; polls == 0 is the proof
    assert (run.client.polls, run.client.parks) == (0, 1)
