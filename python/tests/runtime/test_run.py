"""run(): Call, Resume, exceptions, and pauses that cannot be captured."""

import sys
import traceback
import types

import pytest

from kappa.compiler import compile_source
from kappa.runtime import (
    Call,
    Capture,
    Checkpoint,
    Frame,
    PauseError,
    Resume,
    StateError,
    current_program,
    load_program,
    run,
)

from .helpers import capture, load

CHAIN = """
    from kappa.runtime import checkpoint

    def leaf(x):
        got = checkpoint()
        if got == "fail":
            raise ValueError("leaf failed")
        checkpoint()
        return x + 1 if got is None else got

    def mid(x):
        b = leaf(x)
        return b * 10

    def main(x, scale=1):
        a = mid(x)
        return a * scale
"""


def test_call_returns_the_value():
    module = load("def main(a, b=2):\n    return a + b\n")
    assert run(Call(module.main, (1,), {"b": 5})) == 6


def test_user_exception_propagates_unchanged():
    module = load("""
        def inner(d):
            return d["missing"]

        def main():
            return inner({})
    """)
    with pytest.raises(KeyError) as info:
        run(Call(module.main))
    frames = [(f.name, f.lineno) for f in traceback.extract_tb(info.value.__traceback__)
              if f.filename == "prog.py"]
    assert frames == [("main", 5), ("inner", 2)]


def test_resume_passes_results_outward():
    module = load(CHAIN)
    c = capture(Call(module.main, (4,), {"scale": 2}))
    assert [f.pp_id for f in c.frames] == ["leaf:1", "mid:1", "main:1"]
    assert c.frames[2].vars == {"scale": 2}
    second = capture(Resume(c.frames))
    # a capture while resuming: the not yet resumed outer frames are appended
    assert [f.pp_id for f in second.frames] == ["leaf:2", "mid:1", "main:1"]
    assert run(Resume(second.frames)) == 100


def test_resume_value_is_what_the_pausing_call_returns():
    module = load(CHAIN)
    c = capture(Call(module.main, (4,)))
    second = capture(Resume(c.frames, 7))
    assert run(Resume(second.frames, "ignored")) == 70


def test_resume_with_an_exception_raises_it_at_the_pause_point():
    module = load(CHAIN)
    c = capture(Call(module.main, (4,)))
    with pytest.raises(LookupError) as info:
        run(Resume(c.frames, exc=LookupError("from the coordinator")))
    lines = [(f.name, f.lineno) for f in traceback.extract_tb(info.value.__traceback__)
             if f.filename == "prog.py"]
    assert lines == [("main", 15), ("mid", 11), ("leaf", 4)]


def test_exception_after_resume_passes_through_outer_continuations():
    module = load(CHAIN)
    c = capture(Call(module.main, (4,)))
    with pytest.raises(ValueError, match="leaf failed"):
        run(Resume(c.frames, "fail"))


def test_resume_uses_the_last_loaded_program_by_default():
    first = load(CHAIN)
    c = capture(Call(first.main, (1,)))
    second = load(CHAIN)
    assert current_program() is second
    assert second is not first
    c2 = capture(Resume(c.frames, 5, module=second))
    assert run(Resume(c2.frames, module=second)) == 50
    c3 = capture(Resume(c.frames))
    assert run(Resume(c3.frames)) == 20


def test_unknown_pause_point_is_a_state_error():
    load(CHAIN)
    with pytest.raises(StateError, match="unknown pause point 'nope:3'"):
        run(Resume([Frame("nope:3", {})]))


def test_run_rejects_other_starts():
    with pytest.raises(TypeError):
        run("main")


PAUSE_ERRORS = """
    from kappa.runtime import checkpoint

    def key(x):
        checkpoint()
        return -x

    class Shape:
        @property
        def area(self):
            checkpoint()
            return 1

    def numbers(f=key):   # a call the compiler cannot follow (key itself: a compile error)
        yield f(1)

    def by_key(xs):
        ys = sorted(xs,
                    key=key)
        return ys

    def method():
        s = Shape()
        return s.area

    def through_generator():
        return [n for n in
                numbers()]

    def through_operator():
        return Weird() + 1

    class Weird:
        def __add__(self, other):
            return key(other)
"""


@pytest.mark.parametrize("entry,line,words", [
    ("by_key", 17, "implicit call"),
    ("method", 23, "implicit call"),
    ("through_generator", 14, "inside generator 'numbers'"),
    ("through_operator", 30, "implicit call (an operator"),
])
def test_pause_through_an_implicit_call_is_an_error(entry, line, words):
    module = load(PAUSE_ERRORS)
    with pytest.raises(PauseError) as info:
        run(Call(getattr(module, entry), ([3, 1],) if entry == "by_key" else ()))
    message = str(info.value)
    assert message.startswith(f"prog.py:{line}: checkpoint ")
    assert words in message
    assert "\n" not in message


def test_uncompiled_entry_is_an_error():
    namespace = {}
    exec("from kappa.runtime import checkpoint\ndef plain():\n    checkpoint()\n", namespace)
    with pytest.raises(PauseError, match="inside 'plain', which is not compiled"):
        run(Call(namespace["plain"]))


def test_pause_at_module_level_is_an_error():
    source = "from kappa.runtime import checkpoint\n\ndef f():\n    checkpoint()\n\nX = 1\nf()\n"
    with pytest.raises(PauseError) as info:
        load_program(compile_source(source, "prog.py"))
    assert str(info.value).startswith("prog.py:7: pause at module level")


def test_runtime_frame_may_raise_the_capture():
    """A Kappa API function (any kappa.* module) raising Capture is allowed
    as the innermost frame, like Future.wait()."""
    fake = types.ModuleType("kappa.fake_api")
    exec("from kappa.runtime import Capture\n"
         "class Handle:\n"
         "    def wait(self):\n"
         "        return self._rpc()\n"
         "    def _rpc(self):\n"
         "        raise Capture(('rpc', 42))\n"
         "    def enqueue(self, fn):\n"
         "        return fn()\n", fake.__dict__)
    sys.modules["kappa.fake_api"] = fake
    try:
        module = load("""
            from kappa.fake_api import Handle
            from kappa.runtime import checkpoint

            def cb():
                checkpoint()

            def main():
                h = Handle()
                r = h.wait()
                return r, h

            def callback():
                h = Handle()
                h.enqueue(cb)
        """)
        c = capture(Call(module.main))
        assert c.request == ("rpc", 42)
        assert [f.pp_id for f in c.frames] == ["main:1"]
        assert run(Resume(c.frames, "answer"))[0] == "answer"
        # a runtime frame that calls back into user code is not the innermost one
        with pytest.raises(PauseError, match="prog.py:14: .* through 'Handle.enqueue', a Kappa API"):
            run(Call(module.callback))
    finally:
        del sys.modules["kappa.fake_api"]


def test_capture_escaping_run_is_a_capture():
    module = load(CHAIN)
    with pytest.raises(Capture) as info:
        run(Call(module.main, (1,)))
    assert info.value.request == Checkpoint()
