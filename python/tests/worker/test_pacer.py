"""The pacer's and heartbeat's loops are not joined when an invocation ends
(a warm worker goes straight on to the next task): stop() fences them, so a
loop that runs on for a moment can never raise the pause flag of the next
invocation."""

import threading
import time

from kappa import runtime
from kappa.v1 import task_pb2 as pb
from kappa.worker.client import Superseded
from kappa.worker.pacer import Heartbeat, Pacer


class Deadline:
    """A lambda context at its deadline: the pacer wants a yield at once."""

    def get_remaining_time_in_millis(self):
        return 0


class Forever:
    def get_remaining_time_in_millis(self):
        return 10**12


def wait_for(cond, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.005)
    return cond()


def test_a_stopped_pacer_never_raises_the_flag_again():
    pacer = Pacer(Deadline(), interval=3600)
    pacer.start()
    assert wait_for(runtime.is_pending)   # it keeps raising the flag every 50 ms
    pacer.stop()
    assert not runtime.is_pending()
    time.sleep(0.2)                       # several of its periods
    assert not runtime.is_pending()


class BlockingClient:
    """A heartbeat that is answered only when the test says, with Superseded."""

    def __init__(self):
        self.sent = threading.Event()
        self.answer = threading.Event()

    def heartbeat(self, ref):
        self.sent.set()
        self.answer.wait(5)
        raise Superseded("SUPERSEDED", "claim superseded")


def test_an_answer_after_stop_is_dropped():
    runtime.clear_pause()
    client = BlockingClient()
    hb = Heartbeat(client, pb.TaskRef(), interval=0.01)
    hb.start()
    assert client.sent.wait(5)
    hb.stop()               # the invocation ended while its heartbeat was in flight
    client.answer.set()
    time.sleep(0.1)
    assert not hb.superseded and not runtime.is_pending()


def test_a_running_heartbeat_still_reports_superseded():
    runtime.clear_pause()
    client = BlockingClient()
    client.answer.set()
    hb = Heartbeat(client, pb.TaskRef(), interval=0.01, pacer=Pacer(Forever(), interval=3600))
    hb.start()
    try:
        assert wait_for(lambda: hb.superseded)
        assert runtime.is_pending()
    finally:
        hb.stop()
        runtime.clear_pause()


def test_a_checkpoint_wakes_the_loop_only_when_a_yield_is_due():
    # The common checkpoint leaves the loop asleep (it rereads the time of
    # the last checkpoint when its wait ends); with a yield due the loop
    # must raise the flag again at once, so it is woken.
    pacer = Pacer(Forever(), interval=3600)
    pacer.checkpointed(0.001)
    assert not pacer._wake.is_set()
    pacer.yield_due = True
    pacer.checkpointed(0.001)
    assert pacer._wake.is_set()
    runtime.clear_pause()
