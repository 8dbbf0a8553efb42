"""The task API that programs call: spawn, futures, wait, exit, external
calls.

Every call here that talks to the coordinator is a pause point: it raises a
Capture carrying its request, the compiled frames above it record their
continuations, and the worker writes a checkpoint holding the request before
it sends the call. The call's response becomes the value the call returns
when the frames resume, in this lambda or in a later one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from kappa.runtime import Capture


class TaskFailed(Exception):
    """A task this one waited for failed; the message holds its error."""


class RequestError(ValueError):
    """A call the runtime refuses before sending it: a future or queue of
    another job, an argument that can't be pickled."""


class QuotaExceeded(Exception):
    """The coordinator refused a spawn or an enqueue: it would exceed a quota
    of the job (tasks per job, queue items per job). The message names the
    quota, its value and the server setting that raises it. Nothing was
    spawned or enqueued; the program may handle it and go on."""


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
    external: bool = False        # gets an idempotency key (call_external)
    on_coordinator: bool = False  # runs on the leader, without a time limit


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


def _child(fn, args, awaits, name, kwargs=None, external=False) -> Child:
    if not callable(fn):
        raise TypeError(f"spawn: {fn!r} is not callable")
    if isinstance(args, (str, bytes)) or not isinstance(args, Iterable):
        raise TypeError(f"spawn: args must be a tuple or list of arguments, got {type(args).__name__}")
    args = tuple(args)
    awaits = tuple(awaits) + tuple(a for a in args if isinstance(a, Future))
    for f in awaits:
        if not isinstance(f, Future):
            raise TypeError(f"spawn: awaits must hold futures, got {type(f).__name__}")
    return Child(fn=fn, args=args, kwargs=dict(kwargs or {}), name=name or getattr(fn, "__name__", "task"),
                 awaits=awaits, external=external or bool(getattr(fn, "external", False)),
                 on_coordinator=bool(getattr(fn, "on_coordinator", False)))


def spawn(f: Callable, args: Iterable = (), awaits: Iterable = (), name: str | None = None, blocking: bool = False,
          external: bool = False):
    """Starts f(*args) as a new task and returns its Future (or, with
    blocking=True, its result). Futures among args (and in awaits) are
    waited for before the task starts, and replaced by their values.
    external=True makes it an external call (see call_external): f is
    called as f(call, *args) with the call's idempotency key."""
    raise Capture(SpawnRequest(children=[_child(f, args, awaits, name, external=external)], blocking=blocking))


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


def on_coordinator(f: Callable) -> Callable:
    """Decorator: every task spawned to run `f` runs as a process on the
    coordinator's leader, without a lambda time limit (after a failover it
    resumes on the new leader from its last checkpoint)."""
    f.on_coordinator = True
    return f


def call_external(fn: Callable, *args, **kwargs):
    """Runs fn(call, *args, **kwargs) as a child task and returns its result.

    `call` is an ExternalCall: `call.key` is an idempotency key that stays
    the same across lambda timeouts, retries and coordinator failovers, and
    `call.attempt` counts the runs. fn may run more than once (at least
    once); its effect happens once if the receiver de-duplicates by the key.
    For a Future instead of the result: spawn(fn, args, external=True)."""
    raise Capture(SpawnRequest(children=[_child(fn, args, (), None, kwargs, external=True)], blocking=True))


@dataclass(frozen=True)
class TaskIdentity:
    """Which task the current invocation runs (set by the worker)."""
    cluster: str
    job: int
    task: int
    attempt: int
    external: bool = False
    on_coordinator: bool = False


_current: TaskIdentity | None = None


def set_current_task(identity: TaskIdentity | None) -> None:
    global _current
    _current = identity


def current_task() -> TaskIdentity | None:
    """The running task's identity (cluster, job, task, attempt = how many
    invocations claimed it so far), or None outside Kappa."""
    return _current


class ExternalCall:
    """What an external call's function receives first: its idempotency key
    ("kappa/<cluster>/j<job>/t<task>", unique across clusters) and the
    attempt number of the current run."""

    __slots__ = ("cluster", "job", "task")

    def __init__(self, cluster: str, job: int, task: int):
        self.cluster = cluster
        self.job = job
        self.task = task

    @property
    def key(self) -> str:
        return f"kappa/{self.cluster}/j{self.job}/t{self.task}"

    @property
    def attempt(self) -> int:
        """How many invocations ran this call so far, this one included."""
        cur = _current
        if cur is None or (cur.job, cur.task) != (self.job, self.task):
            return 0
        return cur.attempt

    def headers(self) -> dict:
        """HTTP headers carrying the key (the common `Idempotency-Key`)."""
        return {"Idempotency-Key": self.key, "Kappa-Attempt": str(self.attempt)}

    def __reduce__(self):
        return (ExternalCall, (self.cluster, self.job, self.task))

    def __repr__(self):
        return f"ExternalCall({self.key!r}, attempt={self.attempt})"
