"""Jittered waits between retries of the runtime's own I/O.

The draws come from a private generator: the `random` module's global one
belongs to the program and is saved in its checkpoints, so a retry that
drew from it would shift the program's random stream between a run and its
replay from the same checkpoint (and make the replay's calls differ).
"""

import random

_dice = random.Random()


def jittered_sleep(delay: float, sleep) -> None:
    """Sleep between 0.5 and 1.5 times delay (sleep: time.sleep)."""
    sleep(delay * (0.5 + _dice.random()))


def chance(p: float) -> bool:
    """True with probability p."""
    return _dice.random() < p
