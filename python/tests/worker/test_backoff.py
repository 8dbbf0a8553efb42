"""Backoff retries until its deadline has really passed (the errors say
"retried for N s"), with jittered, doubling waits capped at 1 s."""

import pytest

from kappa.backoff import Backoff


class FakeTime:
    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, s):
        self.sleeps.append(s)
        self.now += s


@pytest.mark.parametrize("window", [0.05, 0.5, 3.0, 10.0])
def test_waits_fill_the_whole_window_then_stop(window):
    ft = FakeTime()
    b = Backoff(window, sleep=ft.sleep, clock=ft.clock)
    while b.wait():
        assert len(ft.sleeps) < 1000
    assert ft.now - 100.0 == pytest.approx(window)
    assert all(0 < s <= 1.5 for s in ft.sleeps)
    assert not b.wait()  # past the deadline it stays over


def test_waits_double_within_their_jitter_and_cap_at_one_second():
    ft = FakeTime()
    b = Backoff(60.0, sleep=ft.sleep, clock=ft.clock)
    for _ in range(12):
        assert b.wait()
    for i, s in enumerate(ft.sleeps):
        base = min(0.05 * 2 ** i, 1.0)
        assert 0.5 * base <= s <= 1.5 * base


def test_a_zero_window_does_not_wait():
    ft = FakeTime()
    assert not Backoff(0, sleep=ft.sleep, clock=ft.clock).wait()
    assert ft.sleeps == []
