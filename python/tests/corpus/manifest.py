"""What each corpus program needs from the compiler that it may not have yet.

A program listed in NEEDS runs under xfail(strict=True): the day the
compiler supports what it needs, its test passes, the strict xfail turns
that into a failure, and the entry must be deleted from here. Programs not
listed must pass today.
"""

import pytest

NEEDS = {
    # Empty since the compiler of commit 400a192 supports every construct
    # the corpus uses; add "program": "construct" rows for new programs only.
}

# Programs whose failure is a compiler/runtime bug in what the compiler
# already claims to support: they are NOT xfail (see test_corpus.py), so
# CI stays red until the bug is fixed. Empty: the last four were fixed
# (regression tests in tests/runtime/test_restore_regressions.py).
KNOWN_BUGS = {}


def reason(name):
    return f"needs {NEEDS[name]}"


def marks(name):
    if name in NEEDS:
        return [pytest.mark.xfail(strict=True, reason=reason(name))]
    return []
