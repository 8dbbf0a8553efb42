"""try/except/else: pauses in the body, a handler and else; nested
handlers; raise, re-raise; exceptions raised after a restore caught by
the right handler; an exception with its own __init__ live across a
pause keeps its message, attributes, cause and notes."""
from kappa.runtime import checkpoint


def step(tag, value=None):
    checkpoint()
    print("step", tag)
    return value


def fail(kind):
    step("fail-" + kind.__name__)
    raise kind(kind.__name__.lower())


def inner(n):
    try:
        step("inner-body", n)
        if n % 3 == 0:
            fail(KeyError)
        if n % 3 == 1:
            fail(ValueError)
        return step("inner-ok", n)
    except KeyError as e:
        step("inner-key", repr(e))
        return -n
    finally:
        print("inner finally", n)


def outer(n):
    try:
        try:
            value = inner(n)
        except ValueError:
            step("outer-value")
            raise
        else:
            step("outer-else", value)
            return value
    except Exception as e:
        print("caught at top:", type(e).__name__, e)
        step("after-catch")
        return None


def bare(n):
    try:
        step("bare-body")
        if n:
            raise RuntimeError("boom")
    except:  # noqa: E722 - a bare except must not see a capture either
        step("bare-handler")
        print("bare caught")
        return "handled"
    return "clean"


def reraise_in_handler():
    try:
        try:
            fail(IndexError)
        except IndexError as e:
            step("handling", str(e))
            raise TypeError("converted") from e
    except TypeError as e:
        print("cause:", type(e.__cause__).__name__)
        return str(e)


class Retry(Exception):
    def __init__(self, attempt):
        super().__init__(f"attempt {attempt} failed")
        self.attempt = attempt


def live_exception():
    try:
        try:
            fail(OSError)
        except OSError as first:
            raise Retry(1) from first
    except Retry as error:
        error.add_note("kept")
        step("holding", error)
        print(error, error.attempt, error.__notes__, repr(error.__cause__))
        return error.attempt


def main():
    print(live_exception())
    results = [outer(n) for n in range(4)]
    print(results)
    print(bare(0), bare(1))
    print(reraise_in_handler())
    return results
