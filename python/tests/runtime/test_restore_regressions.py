"""One small program per root cause of a difference the corpus found between
plain CPython and restored runs (plain vs compiled: uninterrupted, a
restore at every pause point, random pauses, fresh interpreters)."""

import textwrap

import pytest

from .helpers import differences, differential

CASES = {
    # The program's classes, functions and their defaults are re-created by
    # the fresh import: class attributes, mutable defaults (of functions,
    # methods and classmethods) and function attributes must be restored.
    "program_state": """
        import kappa

        class Counter:
            created = 0

            def __init__(self):
                Counter.created += 1

            @classmethod
            def note(cls, text, log=[]):
                log.append(text)
                return len(log)

        def remember(x, seen=[], *, also={}):
            seen.append(x)
            also[x] = len(seen)
            return len(seen)

        def tick():
            tick.calls = getattr(tick, "calls", 0) + 1

        def main():
            for i in range(5):
                kappa.checkpoint()
                Counter()
                tick()
                print(remember(i), Counter.note(str(i)))
            print(Counter.created, tick.calls, remember.__kwdefaults__)
    """,
    # An exception with its own __init__ live across a checkpoint: rebuilt
    # without running __init__ again (its message was doubled), with its
    # attributes, notes, cause and traceback.
    "exception_state": """
        import kappa

        class Transient(Exception):
            def __init__(self, attempt):
                super().__init__(f"failure {attempt}")
                self.attempt = attempt

        def fail(attempt):
            raise Transient(attempt)

        def main():
            try:
                try:
                    fail(1)
                except Transient as first:
                    raise Transient(2) from first
            except Transient as error:
                error.add_note("noted")
                kappa.checkpoint()
                print(error, error.attempt, error.__notes__, repr(error.__cause__), error.__suppress_context__)
                print(error.__cause__.__traceback__ is not None, error.__traceback__.tb_lineno)
    """,
    # A decorator factory called in a function: its result was stored in a
    # temporary located at the factory call, so applying the decorator (an
    # interpreter-made call at that position) looked like the factory call's
    # pause point, and a pause inside the application resumed the wrong
    # continuation ("'function' object is not subscriptable").
    "decorator_factory_in_a_function": """
        import kappa

        def make():
            handlers = []

            def on(event):
                def register(fn):
                    kappa.checkpoint()
                    handlers.append((event, fn))
                    return fn
                return register

            def emit(payload):
                return [fn(payload) for _, fn in list(handlers)]
            return on, emit

        def main():
            on, emit = make()

            @on("order")
            @on("again")
            def count(order):
                kappa.checkpoint()
                return order["id"]

            print(emit({"id": 1}), count({"id": 2}))
    """,
    # next() of a generator expression whose elements pause: a pause inside
    # a generator C code drives cannot be captured; it becomes a loop.
    "next_of_a_generator_expression": """
        import kappa

        def is_long(word):
            kappa.checkpoint()
            return len(word) > 5

        def main():
            words = ["apple", "banana", "cherry"]
            print(next((w for w in words if is_long(w)), None), next((w for w in words if w == "x"), "none"))
            try:
                next(w for w in words if is_long(w * 0))
            except StopIteration as stop:
                print("stop", repr(stop))
    """,
    # `with A(), B():` whose B() pauses becomes `with A(): with B():`, and
    # the inner with was located at B(): its implicit __exit__ call (and
    # __enter__) looked like the pause point of B(), so an automatic pause
    # in __exit__ resumed B()'s continuation (a loop that never ended, or
    # "'bool' object does not support the context manager protocol").
    "with_two_managers_the_second_pausing": """
        import kappa

        TRACE = []

        class Manager:
            def __init__(self, tag):
                self.tag = tag

            def __enter__(self):
                TRACE.append(("enter", self.tag))
                return self

            def __exit__(self, kind, value, tb):
                TRACE.append(("exit", self.tag, kind))
                return True

        def make(tag):
            kappa.checkpoint()
            return Manager(tag)

        def main():
            for i in range(2):
                with Manager("a"), make("b") as m:
                    if i:
                        raise ValueError(i)
            print(TRACE)
    """,
}


@pytest.mark.parametrize("name", list(CASES))
def test_restored_runs_behave_like_plain_python(name):
    reference, results = differential(textwrap.dedent(CASES[name]), filename=f"{name}.py")
    assert reference.error_type is None, reference.traceback
    assert not differences(reference, results)
    assert results["every pause, in process"].pauses >= 3
