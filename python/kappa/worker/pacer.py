"""When to pause: a timer thread that raises the runtime's pause flag.

Reading a clock at every call would cost the program dearly, so compiled
code only tests a flag; this thread sets it when an automatic checkpoint is
due (the interval since the last one passed), when the lambda's remaining
time falls under what a checkpoint needs, or when the leader asks tasks to
yield before a planned leadership transfer (then the task yields).
"""

from __future__ import annotations

import _thread
import threading
import time

from kappa import runtime

# Never plan less than this for a checkpoint and its call.
MIN_MARGIN = 0.25


def start_loop(target) -> None:
    """Runs target() on a new daemon thread without waiting for it to start.

    threading.Thread.start waits until the thread runs, and join until it
    ends: two hand-offs of the GIL per thread, which on a busy machine cost
    a task of a few milliseconds more than its own work (a warm worker runs
    one invocation after another). The loops here need neither: stop()
    fences them with a lock instead, so a loop that outlives its invocation
    by a moment can no longer touch the runtime.
    """
    _thread.start_new_thread(target, ())


class Pacer:
    def __init__(self, lambda_context, interval: float):
        self.ctx = lambda_context
        self.interval = interval
        self.timeout = max(self.remaining(), 0.001)
        self.last_checkpoint = time.monotonic()
        self.checkpoint_cost = 0.0
        self.yield_due = False
        self._stop = threading.Event()
        self._wake = threading.Event()
        # Held while the loop raises the flag, and by stop(): once stop()
        # returns, this pacer never raises it again.
        self._lock = threading.Lock()

    def remaining(self) -> float:
        return self.ctx.get_remaining_time_in_millis() / 1000.0

    def margin(self) -> float:
        """Time to keep before the deadline: enough for a checkpoint of the
        size taken last (three times its cost), at least MIN_MARGIN, at
        most half the lambda's time limit."""
        return min(max(MIN_MARGIN, 3 * self.checkpoint_cost), self.timeout / 2)

    def near_deadline(self) -> bool:
        return self.remaining() <= self.margin()

    def request_yield(self) -> None:
        """Yield at the next pause point (the leader asked: yield_now)."""
        with self._lock:
            if self._stop.is_set():
                return
            self.yield_due = True
            runtime.request_pause()
        self._wake.set()

    def _request_pause(self) -> bool:
        """Raises the pause flag unless stopped; False once stopped."""
        with self._lock:
            if self._stop.is_set():
                return False
            runtime.request_pause()
            return True

    def checkpointed(self, cost: float) -> None:
        """Records a checkpoint that took `cost` seconds, and clears the flag.

        The loop is woken only when a yield is due, to raise the flag again
        at once; otherwise it reads last_checkpoint when its wait ends and
        waits again if the interval moved. Waking it at every checkpoint
        would hand the GIL to it and back, about 3% of a durable step."""
        self.checkpoint_cost = cost
        self.last_checkpoint = time.monotonic()
        runtime.clear_pause()
        if self.yield_due:
            self._wake.set()

    def start(self) -> None:
        start_loop(self._run)

    def stop(self) -> None:
        with self._lock:
            self._stop.set()
            runtime.clear_pause()
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            to_deadline = self.remaining() - self.margin()
            to_interval = self.last_checkpoint + self.interval - time.monotonic()
            if to_deadline <= 0 or self.yield_due:
                self.yield_due = True
                if not self._request_pause():
                    return
                # Keep the flag raised until the yield happens.
                self._wake.wait(0.05)
            elif to_interval <= 0:
                if not self._request_pause():
                    return
                self._wake.wait(min(to_deadline, 0.05))
            else:
                self._wake.wait(min(to_deadline, to_interval))
            self._wake.clear()


class Heartbeat:
    """Tells the leader every few seconds that this claim is alive; learns
    early when it was superseded, and then asks the task to pause so its
    next call is refused and the worker stops; and learns when the leader
    wants it to yield (yield_now)."""

    def __init__(self, client, ref, interval: float, pacer: Pacer | None = None, before=None):
        self.client = client
        self.ref = ref
        # Called before each heartbeat (a deferred claim is committed then:
        # the leader counts only heartbeats of a claim).
        self.before = before
        self.interval = interval
        self.pacer = pacer
        self.superseded = False
        self._stop = threading.Event()
        # Held while the loop acts on an answer, and by stop(): an answer
        # that arrives after stop() (the next invocation may be running) is
        # dropped.
        self._lock = threading.Lock()

    def start(self) -> None:
        start_loop(self._run)

    def stop(self) -> None:
        with self._lock:
            self._stop.set()

    def _run(self) -> None:
        from kappa.worker.client import JobFinished, Superseded
        while not self._stop.wait(self.interval):
            try:
                if self.before is not None:
                    self.before()
                resp = self.client.heartbeat(self.ref)
            except (Superseded, JobFinished):
                with self._lock:
                    if not self._stop.is_set():
                        self.superseded = True
                        runtime.request_pause()
                return
            except Exception:
                # A missed heartbeat is not fatal; the lease allows several.
                continue
            if resp is not None and resp.yield_now and self.pacer is not None:
                self.pacer.request_yield()
