"""Capture, frames, explicit and automatic pauses."""

import pickle

from kappa.runtime import (
    AutoPause,
    Call,
    Capture,
    Checkpoint,
    Frame,
    PausePoint,
    Resume,
    checkpoint,
    clear_pause,
    core,
    is_pending,
    pause,
    request_pause,
    run,
    set_pause_filter,
)

from .helpers import capture, load


def test_capture_is_not_an_exception():
    c = Capture(Checkpoint())
    assert isinstance(c, BaseException) and not isinstance(c, Exception)
    assert c.request == Checkpoint() and c.frames == []


def test_push_keeps_only_live_variables():
    point = PausePoint("f:1", "f", ("a", "b"), None, 3)
    c = Capture("req")
    c.push(point, {"a": 1, "c": 2, "__k_cap": c})
    assert c.frames == [Frame("f:1", {"a": 1})]   # b is unbound: it stays unbound


def test_frame_pickles():
    frame = Frame("f:2", {"x": [1, 2]})
    assert pickle.loads(pickle.dumps(frame, protocol=5)) == frame


def test_checkpoint_outside_a_run_does_nothing():
    assert checkpoint() is None
    assert pause is checkpoint


PROGRAM = """
    from kappa.runtime import checkpoint, request_pause

    def leaf(x):
        y = x * 2
        checkpoint()
        return y + 1

    def main(x):
        a = leaf(x)
        return a

    def key(v):
        if v == 3:
            request_pause()      # the flag is set inside sorted(): not a legal point
        return -v

    def after_sorted(xs):
        ys = sorted(xs, key=key)
        z = leaf(0)
        return ys, z
"""


def test_checkpoint_inside_a_run_captures_the_stack():
    module = load(PROGRAM)
    c = capture(Call(module.main, (5,)))
    assert c.request == Checkpoint()
    assert [f.pp_id for f in c.frames] == ["leaf:1", "main:1"]
    assert c.frames[0].vars == {"y": 10}
    assert c.frames[1].vars == {}            # `a` is assigned from the call: not live
    assert run(Resume(c.frames)) == 11


def test_pause_flag_functions():
    assert not is_pending()
    request_pause()
    assert is_pending() and core.pending
    clear_pause()
    assert not is_pending()


def test_automatic_pause_at_function_entry_clears_the_flag():
    module = load(PROGRAM)
    request_pause()
    c = capture(Call(module.main, (5,)))
    assert c.request == AutoPause()
    assert [f.pp_id for f in c.frames] == ["main:0"]
    assert c.frames[0].vars == {"x": 5}
    assert not is_pending()
    set_pause_filter(lambda request: False)    # resume without pausing again
    assert run(Resume(c.frames)) == 11


def test_automatic_pause_waits_for_a_legal_point():
    module = load(PROGRAM)
    set_pause_filter(lambda request: isinstance(request, AutoPause))
    c = capture(Call(module.after_sorted, ([5, 3, 1],)))
    # key() entries inside sorted() were skipped; leaf's entry was the next legal point
    assert c.request == AutoPause()
    assert [f.pp_id for f in c.frames] == ["leaf:0", "after_sorted:1"]
    set_pause_filter(lambda request: False)
    assert run(Resume(c.frames)) == ([5, 3, 1], 1)


def test_automatic_pause_skips_uncompiled_callers():
    module = load("""
        class C:
            def __eq__(self, other):
                return work(1) == 2

        def work(x):
            return x + 1

        def main():
            return [list(map(work, [1])), C() == C()]
    """)
    seen = []
    set_pause_filter(lambda request: seen.append(request) or False)   # offered, never taken
    request_pause()
    assert run(Call(module.main)) == [[2], True]
    assert seen == [AutoPause()]   # work() under map() and __eq__ (implicit calls) was never offered
    assert is_pending()                        # still waiting for a legal point


def test_pause_filter_can_decline_explicit_checkpoints():
    module = load(PROGRAM)
    set_pause_filter(lambda request: False)
    assert run(Call(module.main, (1,))) == 3


def test_loaded_programs_get_a_copy_of_the_flag():
    first = load(PROGRAM)
    assert first.__k_pending__ is False
    request_pause()
    second = load(PROGRAM)
    assert first.__k_pending__ is True and second.__k_pending__ is True
    clear_pause()
    assert first.__k_pending__ is False and second.__k_pending__ is False
