"""Jittered waits between retries of the runtime's own I/O.

The draws come from a private generator: the `random` module's global one
belongs to the program and is saved in its checkpoints, so a retry that
drew from it would shift the program's random stream between a run and its
replay from the same checkpoint (and make the replay's calls differ).
"""

import random
import time

_dice = random.Random()


class Backoff:
    """Jittered exponential waits (50 ms doubling to 1 s) until a deadline
    retry_for seconds from now. wait() returns False once the deadline has
    passed, so a caller that says it "retried for N s" really did: the last
    wait is cut to the time left rather than skipped."""

    def __init__(self, retry_for: float, sleep=time.sleep, clock=time.monotonic):
        self._sleep, self._clock = sleep, clock
        self._deadline = clock() + retry_for
        self._delay = 0.05

    def wait(self) -> bool:
        left = self._deadline - self._clock()
        if left <= 0:
            return False
        self._sleep(min(self._delay * (0.5 + _dice.random()), left))
        self._delay = min(self._delay * 2, 1.0)
        return True


def chance(p: float) -> bool:
    """True with probability p."""
    return _dice.random() < p
