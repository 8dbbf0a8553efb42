"""A program's other modules (load_module) join the entry's program: a
checkpoint holds their state (globals, class attributes, function
defaults and attributes) keyed by module name, in the same pickle as the
entry's, and a restore puts it back into freshly loaded modules."""

import textwrap
import types

import pytest

from kappa.compiler import compile_source
from kappa.runtime import Call, Capture, Resume, StateError, UnpicklableError, core, load_program, run
from kappa.runtime.loader import load_module
from kappa.runtime.state import dump_state, load_state

HELPER = "kappa_t_helper"

ENTRY_SOURCE = textwrap.dedent(f"""
    import kappa

    ALIAS = None

    def main(n):
        global ALIAS
        import {HELPER} as helper
        ALIAS = helper.CACHE
        for i in range(n):
            helper.note(i)
            kappa.checkpoint()
        return [helper.COUNT, sorted(helper.CACHE), ALIAS is helper.CACHE, helper.Seen.names,
                helper.note.calls, helper.note.__defaults__[0]]
""")

HELPER_SOURCE = textwrap.dedent("""
    COUNT = 0
    CACHE = {}

    class Seen:
        names = ()

    def note(i, log=[]):
        global COUNT
        COUNT += 1
        CACHE[i] = i * i
        Seen.names = Seen.names + (f"n{i}",)
        log.append(i)
        note.calls += 1

    note.calls = 0
""")


def load(helper_source=HELPER_SOURCE, with_helper=True):
    """The entry and (unless told) its helper module, freshly loaded."""
    entry = load_program(compile_source(ENTRY_SOURCE, "main.py", program_modules=[HELPER]), module_name="kappa_t_entry")
    if with_helper:
        load_module(compile_source(helper_source, "helper.py"), types.ModuleType(HELPER), entry)
    return entry


def first_pauses(entry, pauses):
    """Run main(3) in `entry` through `pauses` checkpoints; the state bytes."""
    start = Call(entry.main, (3,), {})
    for _ in range(pauses):
        try:
            run(start)
        except Capture as c:
            blob = dump_state(c.frames, entry, c.request)
            start = Resume(c.frames, None, module=entry)
    return blob


def resume(blob, entry):
    frames, _request = load_state(blob, entry)
    start = Resume(frames, None, module=entry)
    while True:
        try:
            return run(start)
        except Capture as c:
            start = Resume(c.frames, None, module=entry)


def test_helper_module_state_is_restored_into_fresh_modules():
    blob = first_pauses(load(), 2)
    entry = load()   # fresh modules: the helper's state starts over
    assert entry.__dict__["__k_modules"][HELPER].COUNT == 0
    assert resume(blob, entry) == [3, [0, 1, 2], True, ("n0", "n1", "n2"), 3, [0, 1, 2]]


def test_the_same_run_without_a_restore_gives_the_same_result():
    entry = load()
    core.set_pause_filter(lambda request: False)   # checkpoint() returns at once
    assert run(Call(entry.main, (3,), {})) == [3, [0, 1, 2], True, ("n0", "n1", "n2"), 3, [0, 1, 2]]


def test_unpicklable_helper_global_is_named_with_its_module():
    source = HELPER_SOURCE + "\nimport threading\nLOCK = threading.Lock()\n"
    entry = load(source)
    with pytest.raises(UnpicklableError, match=rf"global 'LOCK' of module '{HELPER}' of type _thread.lock"):
        first_pauses(entry, 1)


def test_restore_without_the_helper_loaded_is_a_clear_error():
    blob = first_pauses(load(), 1)
    with pytest.raises(StateError, match=rf"module '{HELPER}', which was not imported before resuming"):
        load_state(blob, load(with_helper=False))
