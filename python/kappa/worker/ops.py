"""What each pause asks of the coordinator, and what its answer means to
the program: requests (kappa.api, kappa.queues) become wire operations, and
responses become the value (or exception) the pausing call returns.

A mixin of TaskRun (task.py), which supplies spec, codec, seq, call(),
block() and _fail().
"""

from __future__ import annotations

from kappa import runtime
from kappa.api import Future, QuotaExceeded, RequestError, SpawnRequest, TaskFailed, WaitRequest
from kappa.queues import CreateQueuesRequest, DequeueRequest, EnqueueRequest, Queue
from kappa.store.keys import value_key
from kappa.v1 import task_pb2 as pb


class Ops:
    # ---- requests → operations ----

    def operation(self, req):
        """(op name, message) for the call `req` makes, or None for a
        checkpoint or an automatic pause. Raises RequestError (or
        UnpicklableValue) for a call that must not be sent; large values
        are written to the store here, before the checkpoint."""
        self.codec.begin_call()
        if isinstance(req, SpawnRequest):
            return "spawn", self._spawn_op(req)
        if isinstance(req, WaitRequest):
            return "wait", pb.WaitOp(futures=self.future_ids(req.futures, "wait"))
        if isinstance(req, CreateQueuesRequest):
            return "create_queues", pb.CreateQueuesOp(max_size=req.max_size, count=req.count)
        if isinstance(req, EnqueueRequest):
            qid = self._queue_id(req.queue, "enqueue")
            seq = self.seq + 1
            items = [self.codec.wrap(data, self._value_key(seq, i, "item"), self.spec.epoch, seq, "item")
                     for i, data in enumerate(req.items)]
            return "enqueue", pb.EnqueueOp(queue_id=qid, items=items)
        if isinstance(req, DequeueRequest):
            return "dequeue", pb.DequeueOp(queue_id=self._queue_id(req.queue, "dequeue"))
        return None

    def _spawn_op(self, req: SpawnRequest) -> pb.SpawnOp:
        for ch in req.children:
            self.future_ids(ch.awaits, "spawn")
        op = pb.SpawnOp()
        seq = self.seq + 1
        for i, ch in enumerate(req.children):
            start = self.encode((ch.fn, ch.args, ch.kwargs), seq, i, "start",
                                f"spawn of {getattr(ch.fn, '__qualname__', ch.fn)!s}: (function, arguments)")
            op.children.add(start=start, awaits=[f.task_id for f in ch.awaits], name=ch.name,
                            external=ch.external, on_coordinator=ch.on_coordinator)
        return op

    def encode(self, obj, seq: int, index: int, kind: str, what: str) -> pb.Value:
        return self.codec.encode(obj, self._value_key(seq, index, kind), self.spec.epoch, seq, kind, what)

    def _value_key(self, seq: int, index: int, kind: str) -> str:
        return value_key(self.spec.job, self.spec.task, self.spec.epoch, seq, index, kind)

    def future_ids(self, futures, what: str) -> list:
        for f in futures:
            if f.job != self.spec.job:
                raise RequestError(f"{what}: {f!r} belongs to job j{f.job}; a task can only wait for futures "
                                   f"of its own job (j{self.spec.job})")
        return [f.task_id for f in futures]

    def _queue_id(self, q: Queue, what: str) -> int:
        if q.job != self.spec.job:
            raise RequestError(f"{what}: {q!r} belongs to job j{q.job}; a task can only use queues of its own "
                               f"job (j{self.spec.job})")
        return q.queue_id

    # ---- responses → values ----

    def resume(self, frames, req, resp: pb.CallResponse):
        """Turns the response of the call that `req` made into the value (or
        exception) the pausing call returns, and resumes the frames."""
        if resp.WhichOneof("result") == "refused":
            # Applied as a refusal: nothing was done, and a relaunch from
            # this checkpoint gets the same answer.
            return runtime.Resume(frames, exc=QuotaExceeded(resp.refused.message))
        if resp.WhichOneof("result") == "blocked":
            resp = self.block(resp.blocked.not_running)
        if isinstance(req, SpawnRequest):
            futures = [Future(self.spec.job, t) for t in resp.spawned.task_ids]
            if req.blocking:
                # spawn(blocking=True) is spawn, then wait, from the same frames.
                wreq = WaitRequest(futures=tuple(futures), single=True)
                return self.resume(frames, wreq, self.call(frames, wreq, "wait", pb.WaitOp(
                    futures=[f.task_id for f in futures])))
            return runtime.Resume(frames, futures if req.many else futures[0])
        if isinstance(req, WaitRequest):
            try:
                values = [self.future_value(r) for r in resp.resolved.results]
            except TaskFailed as e:
                return runtime.Resume(frames, exc=e)
            return runtime.Resume(frames, values[0] if req.single else values)
        if isinstance(req, CreateQueuesRequest):
            queues = [Queue(self.spec.job, q) for q in resp.queues_created.queue_ids]
            return runtime.Resume(frames, queues if req.many else queues[0])
        if isinstance(req, DequeueRequest):
            return runtime.Resume(frames, self.codec.decode(resp.dequeued.item, "the dequeued item"))
        return runtime.Resume(frames, None)

    @staticmethod
    def is_future(value) -> bool:
        return isinstance(value, Future)

    def future_value(self, r: pb.FutureResult):
        if r.failed:
            raise TaskFailed(f"task t{r.task_id} failed: {r.error}")
        return self.codec.decode(r.value, f"the result of task t{r.task_id}")
