"""Exception-heavy code: a custom exception hierarchy, try/except/else/
finally with pauses in every part, nested handlers, re-raise, raise from,
retries, and finally blocks that must run exactly once."""

import kappa

LOG = []


class AppError(Exception):
    pass


class Transient(AppError):
    def __init__(self, attempt):
        super().__init__(f"transient failure on attempt {attempt}")
        self.attempt = attempt


class Fatal(AppError):
    pass


def flaky(key, attempt):
    kappa.checkpoint()
    if (key * 7 + attempt) % 3 != 0:
        raise Transient(attempt)
    if key == 13:
        raise Fatal(f"key {key} is cursed")
    return key * 10 + attempt


def with_retries(key, limit):
    attempt = 0
    while True:
        attempt += 1
        try:
            value = flaky(key, attempt)
        except Transient as error:
            kappa.checkpoint()
            LOG.append(f"retry {key}: {error}")
            if attempt >= limit:
                raise AppError(f"gave up on {key}") from error
        else:
            LOG.append(f"ok {key} after {attempt}")
            return value
        finally:
            kappa.checkpoint()
            LOG.append(f"attempt {key}.{attempt} done")


def parse_all(texts):
    out = []
    for text in texts:
        try:
            try:
                out.append(checked_int(text))
            except ValueError:
                kappa.checkpoint()
                out.append(-1)
                if text == "boom":
                    raise
        except ValueError as error:
            out.append(f"re-raised: {error}")
    return out


def checked_int(text):
    kappa.checkpoint()
    return int(text)


def main():
    results = []
    for key in (1, 2, 4, 13, 5):
        try:
            results.append(with_retries(key, 3))
        except Fatal as error:
            results.append(f"fatal: {error}")
        except AppError as error:
            results.append(f"{error} (cause: {error.__cause__})")
    print("results:", results)
    print("parsed:", parse_all(["12", "x", "7", "boom", "40"]))
    print("log:", len(LOG))
    for line in LOG[:8]:
        print(" ", line)
    finally_count = 0
    for line in LOG:
        if line.startswith("attempt"):
            finally_count += 1
    return finally_count


def broken():
    """Gives up on a key: an AppError raised from a Transient (traceback test)."""
    with_retries(2, 3)
    return with_retries(4, 1)
