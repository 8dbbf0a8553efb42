"""One invocation of one task: claim, restore, run, and answer every pause.

The rules (ARCHITECTURE.md, "Life of a task"): the first call claims the
launched epoch; before call `s` the task writes a checkpoint that holds the
request; a relaunch resumes from the pointer with the stored response of the
last applied call, so no committed call runs twice; near the deadline the
task checkpoints and yields; a blocked wait polls, then parks.
"""

from __future__ import annotations

import json
import os
import pickle
import time
from dataclasses import dataclass

from kappa import runtime
from kappa.api import ExitProcess, Future, SpawnRequest, TaskFailed, WaitRequest
from kappa.compiler import CompileError
from kappa.store import open_store
from kappa.store.envelope import Header, TamperedError
from kappa.store.keys import checkpoint_key, value_key
from kappa.v1 import task_pb2 as pb
from kappa.worker import program as programs
from kappa.worker.client import Client, JobFinished, Superseded
from kappa.worker.context import KappaContext
from kappa.worker.pacer import Heartbeat, Pacer
from kappa.worker.values import ValueCodec


@dataclass
class Spec:
    """What the leader put in the invocation event."""
    coordinator: list
    store: str
    job: int
    task: int
    epoch: int
    invocation: str
    program: str
    busy_wait: float = 1.0
    heartbeat: float = 2.0
    auto_pause: float = 5.0
    cluster_key: bytes = b""

    @classmethod
    def from_event(cls, event) -> "Spec":
        k = event.get("kappa") if isinstance(event, dict) else None
        if not isinstance(k, dict):
            raise ValueError("not a Kappa invocation: the event has no 'kappa' object")
        try:
            return cls(coordinator=list(k["coordinator"]), store=k["store"], job=int(k["job"]), task=int(k["task"]),
                       epoch=int(k["epoch"]), invocation=str(k["invocation"]), program=str(k["program"]),
                       busy_wait=k.get("busy_wait_ms", 1000) / 1000, heartbeat=k.get("heartbeat_ms", 2000) / 1000,
                       auto_pause=k.get("auto_pause_ms", 5000) / 1000)
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"malformed Kappa invocation event: {e!r}") from None


class Ended(Exception):
    """The invocation is over (yielded, parked, exited, failed)."""

    def __init__(self, status: str):
        super().__init__(status)
        self.status = status


class TaskRun:
    def __init__(self, spec: Spec, lambda_context):
        self.spec = spec
        self.client = Client(spec.coordinator)
        self.store = open_store(spec.store)
        self.ref = pb.TaskRef(job_id=spec.job, task_id=spec.task, epoch=spec.epoch, claim=os.urandom(12).hex())
        self.codec = ValueCodec(self.store, spec.cluster_key, spec.job, spec.task, spec.program)
        self.pacer = Pacer(lambda_context, spec.auto_pause)
        self.seq = 0
        self.stats = {"checkpoints": 0, "checkpoint_bytes": 0, "calls": 0}

    def run(self) -> dict:
        s = self.spec
        try:
            grant = self.client.claim(s.job, s.task, s.epoch, s.invocation, self.ref.claim)
        except (Superseded, JobFinished) as e:
            return {"status": "refused", "reason": str(e)}
        self.seq = grant.seq
        # Every blob of the cluster is signed with its key (HMAC-SHA256).
        self.codec.key = grant.cluster_key
        heartbeat = Heartbeat(self.client, self.ref, s.heartbeat)
        heartbeat.start()
        self.pacer.start()
        try:
            self._run(grant)
            status = "exited"
        except Ended as e:
            status = e.status
        except (Superseded, JobFinished) as e:
            status = f"stopped: {e}"
        finally:
            heartbeat.stop()
            self.pacer.stop()
        return {"status": status, "task": f"j{s.job}/t{s.task}", "epoch": s.epoch, **self.stats}

    def _run(self, grant) -> None:
        try:
            prog = programs.load(self.store, grant.program_hash)
        except CompileError as e:
            self._fail(str(e))
        self.module = prog.fresh_module()
        start = self._start_point(grant)
        while True:
            try:
                result = runtime.run(start)
            except runtime.Capture as c:
                try:
                    start = self._answer(c)
                except runtime.UnpicklableError as e:
                    self._fail(str(e))
                continue
            except ExitProcess as e:
                result = e.result
            except (runtime.UnpicklableError, runtime.PauseError) as e:
                self._fail(str(e))
            except (Exception, SystemExit) as e:
                self._fail(runtime.format_user_traceback(e))
            self._exit(result)

    # ---- starting ----

    def _start_point(self, grant):
        if grant.checkpoint_key:
            return self._restore(grant)
        if grant.root:
            entry = getattr(self.module, "handler", None)
            if not callable(entry):
                self._fail("the program defines no entry function handler(event, context)")
            try:
                event = json.loads(grant.event_json or b"null")
            except ValueError as e:
                self._fail(f"the job's event is not valid JSON: {e}")
            return runtime.Call(entry, (event, KappaContext()), {})
        fn, args, kwargs = pickle.loads(self._read_value(grant.start))
        awaited = {r.task_id: r for r in grant.awaited}
        args = tuple(self._future_value(awaited[a.task_id]) if isinstance(a, Future) else a for a in args)
        return runtime.Call(fn, args, kwargs)

    def _read_value(self, value: pb.Value) -> bytes:
        if value.WhichOneof("where") == "inline":
            return value.inline
        return self.codec.read(value.key)

    def _restore(self, grant):
        key = grant.checkpoint_key
        try:
            payload = self.codec.read(key, task=self.spec.task, seq=grant.seq, kind="checkpoint")
        except TamperedError as e:
            self._fail(f"refusing checkpoint {key}: {e}")
        frames, request = runtime.load_state(payload, self.module)
        return self._resume(frames, request, grant.last_response)

    # ---- answering pauses ----

    def _answer(self, c: runtime.Capture):
        req = c.request
        if isinstance(req, SpawnRequest):
            resp = self._call(c.frames, req, "spawn", self._spawn_op(req))
        elif isinstance(req, WaitRequest):
            resp = self._call(c.frames, req, "wait", pb.WaitOp(futures=self._future_ids(req.futures)))
        else:
            # An explicit checkpoint() or an automatic pause: near the
            # deadline it becomes a yield, which ends this invocation.
            if self.pacer.near_deadline() or self.pacer.yield_due:
                self._call(c.frames, req, "yield")
                raise Ended("yielded")
            resp = self._call(c.frames, req, "checkpoint")
        return self._resume(c.frames, req, resp)

    def _resume(self, frames, req, resp: pb.CallResponse):
        """Turns the response of the call that `req` made into the value (or
        exception) the pausing call returns, and resumes the frames."""
        if isinstance(req, SpawnRequest):
            futures = [Future(self.spec.job, t) for t in resp.spawned.task_ids]
            if req.blocking:
                # spawn(blocking=True) is spawn, then wait, from the same frames.
                wreq = WaitRequest(futures=tuple(futures), single=True)
                return self._resume(frames, wreq, self._call(frames, wreq, "wait", pb.WaitOp(futures=self._future_ids(futures))))
            return runtime.Resume(frames, futures if req.many else futures[0])
        if isinstance(req, WaitRequest):
            if resp.WhichOneof("result") == "blocked":
                resp = self._block(resp.blocked.not_running)
            try:
                values = [self._future_value(r) for r in resp.resolved.results]
            except TaskFailed as e:
                return runtime.Resume(frames, exc=e)
            return runtime.Resume(frames, values[0] if req.single else values)
        return runtime.Resume(frames, None)

    def _call(self, frames, request, op: str, msg=None) -> pb.CallResponse:
        """Writes the checkpoint holding `request`, then sends call seq+1
        with operation `op`."""
        seq = self.seq + 1
        t0 = time.monotonic()
        key = checkpoint_key(self.spec.job, self.spec.task, self.spec.epoch, seq)
        payload = runtime.dump_state(frames, self.module, request)
        size = self.codec.put(key, self._header(seq, "checkpoint"), payload)
        if msg is None:
            msg = pb.CheckpointOp() if op == "checkpoint" else pb.YieldOp()
        resp = self.client.call(pb.CallRequest(ref=self.ref, seq=seq, checkpoint_key=key, checkpoint_size=size, **{op: msg}))
        self.seq = seq
        self.stats["checkpoints"] += 1
        self.stats["checkpoint_bytes"] += size
        self.stats["calls"] += 1
        self.pacer.checkpointed(time.monotonic() - t0)
        return resp

    def _header(self, seq: int, kind: str) -> Header:
        s = self.spec
        return Header(job=s.job, task=s.task, epoch=s.epoch, seq=seq, kind=kind, program=s.program)

    def _spawn_op(self, req: SpawnRequest) -> pb.SpawnOp:
        op = pb.SpawnOp()
        seq = self.seq + 1
        for i, ch in enumerate(req.children):
            key = value_key(self.spec.job, self.spec.task, self.spec.epoch, seq, i, "start")
            start = self.codec.encode((ch.fn, ch.args, ch.kwargs), key, self.spec.epoch, seq, "start")
            op.children.add(start=start, awaits=self._future_ids(ch.awaits), name=ch.name)
        return op

    def _future_ids(self, futures) -> list:
        for f in futures:
            if f.job != self.spec.job:
                self._fail(f"{f!r} belongs to job j{f.job}; a task can only wait for futures of its own job (j{self.spec.job})")
        return [f.task_id for f in futures]

    def _future_value(self, r: pb.FutureResult):
        if r.failed:
            raise TaskFailed(f"task t{r.task_id} failed: {r.error}")
        return self.codec.decode(r.value)

    def _block(self, not_running: int) -> pb.CallResponse:
        """A wait that could not complete: poll briefly (reads, no log
        entries), then park, which ends this invocation unless the
        response arrived first. When an awaited task is not even running,
        waiting here would only hold a lambda: park at once."""
        budget = 0.0 if not_running else self.spec.busy_wait
        until = time.monotonic() + min(budget, max(self.pacer.remaining() - self.pacer.margin(), 0))
        pause = 0.005
        while time.monotonic() < until:
            r = self.client.poll(self.ref, self.seq)
            if r.ready:
                return r.response
            time.sleep(pause)
            pause = min(pause * 2, 0.1)
        p = self.client.park(self.ref, self.seq)
        if p.parked:
            raise Ended("parked")
        return p.response

    # ---- ending ----

    def _exit(self, result) -> None:
        seq = self.seq + 1
        try:
            key = value_key(self.spec.job, self.spec.task, self.spec.epoch, seq, 0, "result")
            value = self.codec.encode(result, key, self.spec.epoch, seq, "result")
        except Exception as e:
            self._fail(f"the task's result (type {type(result).__name__}) can't be pickled: {e}")
        self.client.call(pb.CallRequest(ref=self.ref, seq=seq, exit=pb.ExitOp(result=value, result_json=_json(result))))
        self.seq = seq
        raise Ended("exited")

    def _fail(self, error: str):
        seq = self.seq + 1
        self.client.call(pb.CallRequest(ref=self.ref, seq=seq, fail=pb.FailOp(error=error)))
        self.seq = seq
        raise Ended("failed")


def _json(value) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return json.dumps(repr(value))
