"""Pickling of values that leave the task: queue items, spawn arguments,
results. They pickle the way checkpoints do (the runtime's reducers, so a
closure or a nested function of the program travels too), and a value that
can't be pickled is refused with its type named, before anything is sent."""

from __future__ import annotations

import io
import pickle

from kappa.runtime.reducers import reducer_override

PROTOCOL = 5


class UnpicklableValue(TypeError):
    """A value that must leave the task can't be pickled."""


class _Pickler(pickle.Pickler):
    reducer_override = staticmethod(reducer_override)


def dumps(obj, what: str) -> bytes:
    """Pickles obj; `what` names it in the error ("enqueue: item 0")."""
    buffer = io.BytesIO()
    try:
        _Pickler(buffer, protocol=PROTOCOL).dump(obj)
    except Exception as e:  # noqa: BLE001 - any pickling failure is the same to the user
        reason = f"{type(e).__name__}: {e}".splitlines()[0]
        raise UnpicklableValue(f"{what} of type {type_name(obj)} can't be pickled ({reason})") from None
    return buffer.getvalue()


def loads(data: bytes):
    return pickle.loads(data)


def type_name(value) -> str:
    t = type(value)
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"
