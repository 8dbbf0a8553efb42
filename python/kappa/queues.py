"""Queues: bounded multi-producer multi-consumer FIFOs owned by a job.

create_queue(max_size) returns a Queue; q.enqueue(*objs) puts the objects in
order and returns when all are in (blocking while the queue is full);
q.dequeue() takes the oldest item (blocking while it is empty). max_size 0
is a rendezvous: each item passes straight from a producer to a consumer.
Waiters are registered in the coordinator in FIFO order and fulfilled
directly; a blocked task polls briefly, then parks its lambda.

A Queue pickles as its id, so it can be passed to spawned tasks and put in
other queues. Items are pickled when enqueued (a copy, as with any
message); one that can't be pickled is refused at once, naming its type.
"""

from __future__ import annotations

from dataclasses import dataclass

from kappa.pickling import dumps
from kappa.runtime import Capture

# The largest capacity the coordinator accepts (a uint32 on the wire).
MAX_SIZE = 2**32 - 1


class Queue:
    __slots__ = ("job", "queue_id")

    def __init__(self, job: int, queue_id: int):
        self.job = job
        self.queue_id = queue_id

    def enqueue(self, *objs, is_async: bool = False):
        """Puts objs into the queue in order; returns when all are in.
        (is_async is accepted for the original Kappa's programs; the call
        is always synchronous here.)"""
        if not objs:
            return None
        items = tuple(dumps(obj, f"{self!r}.enqueue: item {i}") for i, obj in enumerate(objs))
        raise Capture(EnqueueRequest(queue=self, items=items))

    def dequeue(self):
        """Takes the oldest item, waiting while the queue is empty."""
        raise Capture(DequeueRequest(queue=self))

    def __reduce__(self):
        return (Queue, (self.job, self.queue_id))

    def __eq__(self, other):
        return isinstance(other, Queue) and (self.job, self.queue_id) == (other.job, other.queue_id)

    def __hash__(self):
        return hash((self.job, self.queue_id))

    def __repr__(self):
        return f"Queue(j{self.job}/q{self.queue_id})"


@dataclass
class CreateQueuesRequest:
    max_size: int
    count: int
    many: bool       # return a list of queues, not one


@dataclass
class EnqueueRequest:
    queue: Queue
    items: tuple     # pickled items, in order


@dataclass
class DequeueRequest:
    queue: Queue


def _max_size(max_size) -> int:
    if isinstance(max_size, bool) or not isinstance(max_size, int) or not 0 <= max_size <= MAX_SIZE:
        raise ValueError(f"create_queue: max_size must be an integer from 0 to {MAX_SIZE}, got {max_size!r}")
    return max_size


def create_queue(max_size: int) -> Queue:
    """A new queue holding at most max_size items (0: a rendezvous)."""
    raise Capture(CreateQueuesRequest(max_size=_max_size(max_size), count=1, many=False))


def create_queues(max_size: int, copies: int) -> list:
    """`copies` new queues of capacity max_size each."""
    if isinstance(copies, bool) or not isinstance(copies, int) or not 0 <= copies <= 100000:
        raise ValueError(f"create_queues: copies must be an integer from 0 to 100000, got {copies!r}")
    if copies == 0:
        return []
    raise Capture(CreateQueuesRequest(max_size=_max_size(max_size), count=copies, many=True))
