"""The task API that programs call: spawn, futures, wait, exit.

Every call here that talks to the coordinator is a pause point: it raises a
Capture carrying its request, the compiled frames above it record their
continuations, and the worker writes a checkpoint holding the request before
it sends the call. The call's response becomes the value the call returns
when the frames resume, in this lambda or in a later one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from kappa.runtime import Capture


class TaskFailed(Exception):
    """A task this one waited for failed; the message holds its error."""


class ExitProcess(BaseException):
    """Raised by exit_process(): ends the task with a result at once."""

    def __init__(self, result: Any = None):
        super().__init__(result)
        self.result = result


class Future:
    """The future result of a spawned task (picklable: it is just an id)."""

    __slots__ = ("job", "task_id")

    def __init__(self, job: int, task_id: int):
        self.job = job
        self.task_id = task_id

    def wait(self):
        """Blocks until the task finishes; returns its result or raises
        TaskFailed with its error."""
        raise Capture(WaitRequest(futures=(self,), single=True))

    def __reduce__(self):
        return (Future, (self.job, self.task_id))

    def __eq__(self, other):
        return isinstance(other, Future) and (self.job, self.task_id) == (other.job, other.task_id)

    def __hash__(self):
        return hash((self.job, self.task_id))

    def __repr__(self):
        return f"Future(j{self.job}/t{self.task_id})"


@dataclass
class Child:
    fn: Callable
    args: tuple
    kwargs: dict
    name: str
    awaits: tuple  # Futures to finish before the child starts


@dataclass
class SpawnRequest:
    children: list[Child]
    many: bool = False       # return a list of futures, not one
    blocking: bool = False   # wait for the child's result at once


@dataclass
class WaitRequest:
    futures: tuple
    single: bool = False     # return one value, not a list
    extra: dict = field(default_factory=dict)


def _child(fn, args, awaits, name) -> Child:
    if not callable(fn):
        raise TypeError(f"spawn: {fn!r} is not callable")
    if isinstance(args, (str, bytes)) or not isinstance(args, Iterable):
        raise TypeError(f"spawn: args must be a tuple or list of arguments, got {type(args).__name__}")
    args = tuple(args)
    awaits = tuple(awaits) + tuple(a for a in args if isinstance(a, Future))
    for f in awaits:
        if not isinstance(f, Future):
            raise TypeError(f"spawn: awaits must hold futures, got {type(f).__name__}")
    return Child(fn=fn, args=args, kwargs={}, name=name or getattr(fn, "__name__", "task"), awaits=awaits)


def spawn(f: Callable, args: Iterable = (), awaits: Iterable = (), name: str | None = None, blocking: bool = False):
    """Starts f(*args) as a new task and returns its Future (or, with
    blocking=True, its result). Futures among args (and in awaits) are
    waited for before the task starts, and replaced by their values."""
    raise Capture(SpawnRequest(children=[_child(f, args, awaits, name)], blocking=blocking))


def spawn_many(f: Callable, args: Iterable = (), copies: int = 1, awaits: Iterable = ()):
    """Starts `copies` tasks running f(*args); returns their futures."""
    if copies < 1:
        raise ValueError(f"spawn_many: copies must be at least 1, got {copies}")
    child = _child(f, args, awaits, None)
    raise Capture(SpawnRequest(children=[child] * copies, many=True))


def map_spawn(f: Callable, elems: Iterable, extra_args: Iterable = (), awaits: Iterable = ()):
    """Starts f(elem, *extra_args) for every elem; returns their futures."""
    extra = tuple(extra_args)
    children = [_child(f, (e,) + extra, awaits, None) for e in elems]
    if not children:
        return []
    raise Capture(SpawnRequest(children=children, many=True))


def wait(*futures: Future) -> list:
    """Blocks until every future's task finishes; returns their results in
    order (raises TaskFailed if one failed)."""
    if len(futures) == 1 and not isinstance(futures[0], Future):
        futures = tuple(futures[0])
    for f in futures:
        if not isinstance(f, Future):
            raise TypeError(f"wait: expected futures, got {type(f).__name__}")
    if not futures:
        return []
    raise Capture(WaitRequest(futures=tuple(futures)))


def exit_process(result: Any = None):
    """Ends the current task now, with `result` as its result."""
    raise ExitProcess(result)
