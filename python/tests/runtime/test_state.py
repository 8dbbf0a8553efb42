"""dump_state / load_state: one pickle of frames, globals, random state and request."""

import pickle
import random
import textwrap

import pytest

from kappa.runtime import (
    Call,
    Checkpoint,
    Frame,
    Resume,
    StateError,
    UnpicklableError,
    dump_state,
    load_state,
    program_globals,
    run,
)

from .helpers import capture, load

PROGRAM = """
    import math
    import random
    from kappa.runtime import checkpoint

    LIMIT = 10
    STATE = {"n": 0}
    HISTORY = []
    PICK = None

    class Item:
        def __init__(self, name):
            self.name = name

    def helper():
        return 1

    square = lambda x: x * x

    def main(xs):
        it = iter(xs)
        first = next(it)
        STATE["n"] += 1
        HISTORY.append(first)
        item = Item("a")
        alias = HISTORY
        checkpoint()
        xs.append(99)
        return first, list(it), item.name, alias is HISTORY, STATE, random.random()
"""


def test_program_globals_leave_out_what_the_import_recreates():
    module = load(PROGRAM)
    # imported functions are kept: they pickle by reference
    assert set(program_globals(module)) == {"LIMIT", "STATE", "HISTORY", "PICK", "checkpoint"}


def test_round_trip_into_a_fresh_module_in_the_same_process():
    module = load(PROGRAM)
    random.seed(7)
    c = capture(Call(module.main, ([1, 2, 3],)))
    blob = dump_state(c.frames, module, c.request)
    expected_random = random.random()

    random.seed(12345)                      # disturb everything the blob must restore
    fresh = load(PROGRAM)
    assert fresh.STATE == {"n": 0}
    frames, request = load_state(blob, fresh)
    assert request == Checkpoint()
    assert fresh.STATE == {"n": 1} and fresh.HISTORY == [1]
    assert frames[0].vars["alias"] is fresh.HISTORY           # global and local stay one list
    assert type(frames[0].vars["item"]) is fresh.Item          # program classes by reference
    first, rest, name, same, state, rnd = run(Resume(frames, module=fresh))
    # the iterator and the list it iterates stayed one list: 99 shows up
    assert (first, rest, name, same, state) == (1, [2, 3, 99], "a", True, {"n": 1})
    assert rnd == expected_random


def test_unpicklable_local_names_variable_type_function_and_line():
    module = load("""
        from kappa.runtime import checkpoint

        def main():
            import threading
            lock = threading.Lock()
            checkpoint()
            return lock.locked()
    """)
    c = capture(Call(module.main))
    with pytest.raises(UnpicklableError) as info:
        dump_state(c.frames, module, c.request)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("cannot checkpoint: variable 'lock' of type _thread.lock in function 'main' "
                              "at prog.py:6 is not picklable")


def test_unpicklable_loop_iterator_is_described():
    module = load("""
        from kappa.runtime import checkpoint

        def numbers():
            return eval("(n for n in range(3))")   # a generator the compiler never saw

        def main():
            total = 0
            for n in numbers():
                checkpoint()
                total += n
            return total
    """)
    c = capture(Call(module.main))
    with pytest.raises(UnpicklableError, match=r"variable '__k_it8__' \(the iterator of the for loop at "
                                               r"line 8\) of type generator in function 'main' at prog.py:9"):
        dump_state(c.frames, module, c.request)


def test_unpicklable_global_is_named():
    module = load("""
        import threading
        from kappa.runtime import checkpoint

        LOCK = threading.Lock()

        def main():
            checkpoint()
    """)
    c = capture(Call(module.main))
    with pytest.raises(UnpicklableError, match="global 'LOCK' of type _thread.lock is not picklable"):
        dump_state(c.frames, module, c.request)


def test_unpicklable_request_is_named():
    module = load("def main():\n    return 1\n")
    with pytest.raises(UnpicklableError, match="pause request"):
        dump_state([], module, lambda: None)


def test_state_of_another_program_is_refused():
    module = load(PROGRAM)
    blob = dump_state([Frame("main:1", {})], module, None)
    other = load(textwrap.dedent(PROGRAM) + "\n# changed\n")
    with pytest.raises(StateError, match="different program"):
        load_state(blob, other)


@pytest.mark.parametrize("blob", [b"garbage", pickle.dumps({"format": "other"})])
def test_garbage_is_refused(blob):
    with pytest.raises(StateError, match="cannot read checkpoint"):
        load_state(blob, load(PROGRAM))


IMPORTS = """
    from kappa.runtime import checkpoint

    def main():
        import json
        import os.path as osp
        holder = {"mod": json}
        checkpoint()
        return json.dumps([1]), osp.join("a", "b"), holder["mod"] is json
"""


def test_modules_in_live_variables_are_saved_by_name():
    module = load(IMPORTS)
    c = capture(Call(module.main))
    assert set(c.frames[0].vars) == {"json", "osp", "holder"}
    blob = dump_state(c.frames, module, c.request)
    fresh = load(IMPORTS)
    frames, _ = load_state(blob, fresh)
    assert run(Resume(frames, module=fresh)) == ("[1]", "a/b", True)


CODE_STATE = """
    import abc
    import threading
    from kappa.runtime import checkpoint

    class Base(abc.ABC):
        lock = threading.Lock()          # not picklable: left to the re-import
        instances = []

        @abc.abstractmethod
        def size(self): ...

        @classmethod
        def make(cls, made=[]):
            made.append(cls.__name__)
            return len(made)

    class Box(Base):
        def size(self):
            return 1

    def keep(x, _guard=threading.Lock(), seen=[]):
        seen.append(x)
        return len(seen)

    def main():
        Base.instances.append(Box())
        keep.calls = keep(1) + Box.make()
        checkpoint()
        return keep(2), Box.make(), len(Base.instances), keep.calls, Base.lock.locked()
"""


def test_class_and_function_state_is_restored_and_what_cannot_pickle_is_left_to_the_import():
    module = load(CODE_STATE)
    c = capture(Call(module.main))
    blob = dump_state(c.frames, module, c.request)
    assert module.__k_unsaved   # the locks (and abc's cache is never saved)
    assert dump_state(c.frames, module, c.request)   # again, from what the module remembers
    fresh = load(CODE_STATE)
    frames, _ = load_state(blob, fresh)
    assert fresh.keep.__defaults__[1] == [1] and fresh.Base.make.__func__.__defaults__ == (["Box"],)
    assert run(Resume(frames, module=fresh)) == (2, 2, 1, 2, False)
