"""Directory programs whose own modules are packages and keep state,
checkpointed and restored in fresh interpreters the way workers do
(tests/worker/dirdriver.py): each program runs under plain CPython, then
compiled uninterrupted, with a fresh interpreter at every pause point and
at every third one; stdout and the result must equal the plain run's."""

import pytest
from runtime.driver import Every, EveryKth, Never

from worker.dirdriver import run_compiled, run_plain

# Packages: relative imports in __init__ while the package is being
# imported, `import pkg.sub`, a namespace package (no __init__.py) with a
# `from ..x import` inside it, and pauses in every one of those modules.
PACKAGES = {
    "main.py": """
        import pkg
        import pkg.deep.leaf
        from pkg.tools import scale
        from kappa import checkpoint

        def handler(event, context):
            total = 0
            for i in range(event["n"]):
                total += pkg.work(i)
                total += scale(i)
                total += pkg.deep.leaf.twice(i)
                checkpoint()
                print("step", i, total)
            return {"total": total, "names": [pkg.__name__, pkg.tools.__package__, pkg.deep.leaf.__package__],
                    "package": hasattr(pkg, "__path__") and not hasattr(pkg.tools, "__path__")}
    """,
    "pkg/__init__.py": """
        from . import core
        from .tools import scale as _scale
        from .core import FACTOR

        def work(i):
            return core.step(i) + _scale(i) * FACTOR
    """,
    "pkg/core.py": """
        from kappa import checkpoint

        FACTOR = 2

        def step(i):
            checkpoint()
            return i + 1
    """,
    "pkg/tools.py": """
        from . import core
        from kappa import checkpoint

        def scale(i):
            v = core.step(i) * 3
            checkpoint()
            return v
    """,
    "pkg/deep/leaf.py": """
        from ..core import step

        def twice(i):
            return step(i) * 2
    """,
}

# Module state in a helper module: a global counter, a cache dict that the
# entry and another module also reference (one object), a class attribute
# rebound by a classmethod, a mutable default and a function attribute;
# a pause inside the helper right after it changed its state.
MODULE_STATE = {
    "main.py": """
        import counters
        import mirror
        from counters import CACHE, Registry
        from kappa import checkpoint

        def handler(event, context):
            seen = []
            for i in range(event["n"]):
                counters.bump()
                counters.remember(i, i * i)
                Registry.add(f"item{i}")
                checkpoint()
                mirror.note(i)
                seen.append([counters.COUNT, len(CACHE), len(counters.bump.__defaults__[1]),
                             counters.remember.hits, len(Registry.items), Registry.made, mirror.ALIAS.get(i)])
            shared = CACHE is counters.CACHE is mirror.ALIAS and mirror.LOG is counters.LOG_VIEW[0]
            return {"seen": seen, "shared": shared, "log": mirror.LOG}
    """,
    "counters.py": """
        from kappa import checkpoint

        COUNT = 0
        CACHE = {}
        LOG_VIEW = []

        class Registry:
            items = []
            made = 0

            @classmethod
            def add(cls, name):
                cls.items = cls.items + [name]
                cls.made += 1

        def bump(step=1, history=[]):
            global COUNT
            COUNT += step
            history.append(COUNT)
            checkpoint()

        def remember(key, value, cache=CACHE):
            cache[key] = value
            remember.hits += 1

        remember.hits = 0
    """,
    "mirror.py": """
        import counters

        ALIAS = counters.CACHE
        LOG = []
        counters.LOG_VIEW.append(LOG)

        def note(i):
            LOG.append(len(ALIAS) * 10 + i)
    """,
}

PROGRAMS = {"packages": (PACKAGES, {"n": 2}), "module_state": (MODULE_STATE, {"n": 4})}
MODES = {
    "uninterrupted": Never(),
    "every-pause-fresh-interpreter": Every(auto=False),
    "every-third-pause-fresh-interpreter": EveryKth(3, auto=False),
}


@pytest.fixture(scope="module")
def references():
    return {name: run_plain(files, event) for name, (files, event) in PROGRAMS.items()}


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_directory_program_matches_plain_cpython(name, mode, references):
    files, event = PROGRAMS[name]
    stdout, result, segments = run_compiled(files, event, MODES[mode])
    assert (stdout, result) == references[name]
    if mode != "uninterrupted":
        assert segments >= 3, "the program should have paused and resumed in new interpreters"


def test_package_results_are_what_python_computes(references):
    # Independent of the plain run: the arithmetic and the module attributes.
    stdout, result = references["packages"]
    total = sum((i + 1) + 3 * (i + 1) * 2 + 3 * (i + 1) + 2 * (i + 1) for i in range(2))
    assert result == {"total": total, "names": ["pkg", "pkg", "pkg.deep"], "package": True}
    assert stdout.splitlines()[-1] == f"step 1 {total}"


def test_helper_module_state_survives_every_restore(references):
    _, result = references["module_state"]
    assert result["shared"] is True
    assert result["seen"] == [[i + 1, i + 1, i + 1, i + 1, i + 1, i + 1, i * i] for i in range(4)]
    assert result["log"] == [(i + 1) * 10 + i for i in range(4)]
    # Every pause restores in a fresh interpreter: 2 pauses per iteration.
    _, restored, segments = run_compiled(*PROGRAMS["module_state"], Every(auto=False))
    assert segments == 2 * 4 + 1 and restored == result
