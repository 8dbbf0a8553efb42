"""One invocation of one task: claim, restore, run, and answer every pause.

The rules (docs/architecture.md, "Life of a task"): the first call claims the
launched epoch (deferred: the grant is read first, and a task whose first
call is its exit or fail claims with that call, one log entry instead of
two; any other first call, a store write or a heartbeat claims first);
before call `s` the task writes a checkpoint that holds the request; a
relaunch resumes from the pointer with the stored response of the last
applied call, so no committed call runs twice; near the deadline (or when
the leader asks, before a planned transfer) the task checkpoints and yields;
a blocked wait, enqueue or dequeue polls, then parks.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
import traceback
from dataclasses import dataclass, field

from google.protobuf.message import DecodeError

from kappa import runtime
from kappa.api import ExitProcess, ExternalCall, RequestError, TaskIdentity, set_current_task
from kappa.compiler import CompileError
from kappa.pickling import UnpicklableValue, dumps
from kappa.store import open_store
from kappa.store.envelope import Header, TamperedError
from kappa.store.keys import checkpoint_key
from kappa.v1 import task_pb2 as pb
from kappa.worker import program as programs
from kappa.worker.client import Client, CoordinatorError, JobFinished, Superseded
from kappa.worker.context import KappaContext
from kappa.worker.ops import Ops
from kappa.worker.pacer import Heartbeat, Pacer
from kappa.worker.requirements import RequirementsError
from kappa.worker.resultjson import NotJSON, result_json
from kappa.worker.values import Limits, ValueCodec


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
    ca_pem: str = ""  # the cluster's CA (public), when the coordinators serve TLS
    # The invocation's credential: sent with every task call, never shown.
    task_secret: str = field(default="", repr=False)
    # The deferred claim's grant, when the leader put it in the event (a
    # ClaimResponse, protobuf); else the worker reads it with a Claim.
    grant: bytes = field(default=b"", repr=False)

    @classmethod
    def from_event(cls, event) -> Spec:
        k = event.get("kappa") if isinstance(event, dict) else None
        if not isinstance(k, dict):
            raise ValueError("not a Kappa invocation: the event has no 'kappa' object")
        try:
            return cls(coordinator=list(k["coordinator"]), store=k["store"], job=int(k["job"]), task=int(k["task"]),
                       epoch=int(k["epoch"]), invocation=str(k["invocation"]), program=str(k["program"]),
                       busy_wait=k.get("busy_wait_ms", 1000) / 1000, heartbeat=k.get("heartbeat_ms", 2000) / 1000,
                       auto_pause=k.get("auto_pause_ms", 5000) / 1000, ca_pem=str(k.get("ca_pem") or ""),
                       task_secret=str(k.get("task_secret", "")),
                       grant=base64.b64decode(k.get("grant") or "", validate=True))
        except (KeyError, TypeError, ValueError) as e:  # binascii.Error is a ValueError
            raise ValueError(f"malformed Kappa invocation event: {e!r}") from None


class Ended(Exception):
    """The invocation is over (yielded, parked, exited, failed)."""

    def __init__(self, status: str):
        super().__init__(status)
        self.status = status


class TaskRun(Ops):
    def __init__(self, spec: Spec, lambda_context):
        self.spec = spec
        self.client = Client(spec.coordinator, ca_pem=spec.ca_pem, task_secret=spec.task_secret)
        self.store = open_store(spec.store)
        self.ref = pb.TaskRef(job_id=spec.job, task_id=spec.task, epoch=spec.epoch, claim=os.urandom(12).hex())
        self.codec = ValueCodec(self.store, spec.job, spec.task, spec.program)
        self.pacer = Pacer(lambda_context, spec.auto_pause)
        self.seq = 0
        self.stats = {"checkpoints": 0, "checkpoint_bytes": 0, "calls": 0}
        # Whether the claim is committed; held while claiming or sending
        # the call that claims. `ended`: this invocation is over, so the
        # heartbeat thread must not claim for it any more.
        self.claimed = False
        self.ended = False
        self._claim_lock = threading.Lock()
        # A first call handed back in the invocation's result, for the
        # leader to commit (see send).
        self.returned_call: pb.CallRequest | None = None

    def run(self) -> dict:
        s = self.spec
        try:
            grant = self._grant()
        except (Superseded, JobFinished) as e:
            return {"status": "refused", "reason": str(e)}
        # A coordinator that cannot defer claims (an older cluster) claimed.
        self.claimed = not grant.deferred
        self.seq = grant.seq
        self.root = grant.root
        # Every blob of the job is sealed with the job's key (HMAC-SHA256),
        # which only the grant carries.
        self.codec.use_grant(grant)
        self.codec.limits = Limits.from_claim(grant.limits)
        set_current_task(TaskIdentity(cluster=grant.cluster_id, job=s.job, task=s.task, attempt=grant.attempt,
                                      external=grant.external, on_coordinator=grant.on_coordinator))
        heartbeat = Heartbeat(self.client, self.ref, s.heartbeat, self.pacer, before=self.ensure_claimed)
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
            with self._claim_lock:
                self.ended = True
            heartbeat.stop()
            self.pacer.stop()
            set_current_task(None)
        out = {"status": status, "task": f"j{s.job}/t{s.task}", "epoch": s.epoch, "attempt": grant.attempt,
               **self.stats}
        if self.returned_call is not None:
            out["call"] = base64.b64encode(self.returned_call.SerializeToString()).decode()
        return out

    def _run(self, grant) -> None:
        try:
            prog = programs.load(self.store, grant.program_hash)
        except (CompileError, RequirementsError) as e:
            self._fail(str(e))
        try:
            self.module = prog.fresh_module(restoring=bool(grant.checkpoint_key))
        except (Exception, SystemExit) as e:
            # The program's own top-level code failed: every relaunch would
            # fail the same way, so the task fails now with its traceback.
            self._fail("the program failed while being imported:\n" + runtime.format_user_traceback(e))
        try:
            start = self._start_point(grant)
        except TamperedError as e:
            self._fail(f"refusing stored data: {e}")
        while True:
            try:
                result = runtime.run(start)
            except runtime.Capture as c:
                try:
                    start = self._answer(c)
                except runtime.UnpicklableError as e:
                    self._fail(str(e))
                except TamperedError as e:
                    self._fail(f"refusing stored data: {e}")
                continue
            except ExitProcess as e:
                result = e.result
            except (runtime.UnpicklableError, runtime.PauseError) as e:
                self._fail(str(e))
            except (Exception, SystemExit) as e:
                self._fail(runtime.format_user_traceback(e))
            self._exit(result)

    # ---- claiming ----

    def _grant(self) -> pb.ClaimResponse:
        """The grant of this launch: from the event when the leader put it
        there (one round trip fewer), else read (or, on a cluster that
        cannot defer claims, claimed) with a Claim."""
        s = self.spec
        if s.grant:
            try:
                return pb.ClaimResponse.FromString(s.grant)
            except DecodeError:
                pass  # read it instead
        return self.client.claim(s.job, s.task, s.epoch, s.invocation, self.ref.claim, deferred=True)

    def ensure_claimed(self) -> None:
        """Commits the deferred claim, if not yet: before anything is
        written to the store, a poll, a park or a heartbeat. Raises
        Superseded when another invocation of the launch won."""
        with self._claim_lock:
            if self.claimed or self.ended:
                return
            s = self.spec
            self.client.claim(s.job, s.task, s.epoch, s.invocation, self.ref.claim)
            self.claimed = True

    def send(self, req: pb.CallRequest) -> pb.CallResponse:
        """Sends a call; the first call of a deferred claim claims with it
        (only an exit or a fail naming no store key may: the FSM refuses
        any other). Such a call, when the leader put the grant in the event
        (and so commits what an invocation returns), is not sent but
        returned with the invocation's result: the invocation ends with it."""
        with self._claim_lock:
            if self.claimed:
                return self.client.call(req)
            req.claim_invocation = self.spec.invocation
            if self.spec.grant and not req.checkpoint_key and req.WhichOneof("op") in ("exit", "fail"):
                self.returned_call = req
                self.ended = True  # nothing may claim for it any more
                return pb.CallResponse()
            resp = self.client.call(req)
            self.claimed = True
            return resp

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
        fn, args, kwargs = self.codec.decode(grant.start, "the task's start (function and arguments)")
        awaited = {r.task_id: r for r in grant.awaited}
        args = tuple(self.future_value(awaited[a.task_id]) if self.is_future(a) else a for a in args)
        if grant.external:
            # The idempotency key names this child task: the same for every
            # run of it, whatever relaunches it.
            args = (ExternalCall(grant.cluster_id, self.spec.job, self.spec.task),) + args
        return runtime.Call(fn, args, kwargs)

    def _restore(self, grant):
        key = grant.checkpoint_key
        # A task retried after its failing call resumes from the call
        # before it: checkpoint_seq names it; the next call is still seq+1.
        seq = grant.checkpoint_seq or grant.seq
        try:
            payload = self.codec.read(key, task=self.spec.task, seq=seq, kind="checkpoint")
        except TamperedError as e:
            self._fail(f"refusing checkpoint {key}: {e}")
        frames, request = runtime.load_state(payload, self.module)
        return self.resume(frames, request, grant.last_response)

    # ---- answering pauses ----

    def _answer(self, c: runtime.Capture):
        # Every Kappa call may write to the store or wait: claim first.
        self.ensure_claimed()
        req = c.request
        try:
            op = self.operation(req)
        except (RequestError, UnpicklableValue) as e:
            # Refused before anything was written or sent: the pausing call
            # raises it in the program.
            return runtime.Resume(c.frames, exc=e)
        if op is None:
            # An explicit checkpoint() or an automatic pause: near the
            # deadline, or when the leader asks, it becomes a yield, which
            # ends this invocation.
            if self.pacer.near_deadline() or self.pacer.yield_due:
                self.call(c.frames, req, "yield", pb.YieldOp())
                raise Ended("yielded")
            op = ("checkpoint", pb.CheckpointOp())
        resp = self.call(c.frames, req, *op)
        return self.resume(c.frames, req, resp)

    def call(self, frames, request, op: str, msg) -> pb.CallResponse:
        """Writes the checkpoint holding `request`, then sends call seq+1
        with operation `op`. Claims first: besides _answer, a resume calls
        this (a blocking spawn's wait), also right after a restore."""
        self.ensure_claimed()
        seq = self.seq + 1
        t0 = time.monotonic()
        key = checkpoint_key(self.spec.job, self.spec.task, self.spec.epoch, seq)
        payload = runtime.dump_state(frames, self.module, request)
        size = self.codec.put(key, self._header(seq, "checkpoint"), payload)
        req = pb.CallRequest(ref=self.ref, seq=seq, checkpoint_key=key, checkpoint_size=size, **{op: msg})
        try:
            resp = self.client.call(req)
        except (Superseded, JobFinished):
            raise
        except CoordinatorError as e:
            # Refused, so not applied: the seq is still free for the fail.
            # (Resuming the program instead would reuse this checkpoint key.)
            self._fail(f"{op} refused by the coordinator ({e.reason}): {e}")
        self.seq = seq
        self.stats["checkpoints"] += 1
        self.stats["checkpoint_bytes"] += size
        self.stats["calls"] += 1
        self.pacer.checkpointed(time.monotonic() - t0)
        return resp

    def _header(self, seq: int, kind: str) -> Header:
        return self.codec.header(self.spec.epoch, seq, kind)

    def block(self, not_running: int) -> pb.CallResponse:
        """A call that could not complete: poll briefly (reads, no log
        entries), then park, which ends this invocation unless the
        response arrived first. When an awaited task is not even running,
        or the leader asked us to yield, waiting here would only hold a
        lambda: park at once. Claims first: a task restored with a blocked
        response polls before any call of its own."""
        self.ensure_claimed()
        budget = 0.0 if not_running else self.spec.busy_wait
        until = time.monotonic() + min(budget, max(self.pacer.remaining() - self.pacer.margin(), 0))
        pause = 0.005
        while time.monotonic() < until and not self.pacer.yield_due:
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
        # Encoding the result is the same on every relaunch: an error here
        # fails the task at once (with the error) instead of relaunching it
        # until its launches run out.
        try:
            data = dumps(result, "the task's result")
            # Only the root's result is the job's, shown as JSON.
            text = result_json(result) if self.root else ""
        except (UnpicklableValue, NotJSON) as e:
            self._fail(str(e))
        except Exception:  # noqa: BLE001 - a bug of the worker's, not a passing failure
            self._fail("the worker could not record the task's result:\n" + traceback.format_exc())
        if not self.claimed and not self._exit_fits_inline(text, data, seq):
            self.ensure_claimed()  # the result goes to the store
        exit_op = self._result_json(text, seq)  # first: it may refuse the result
        self.codec.begin_call()
        key = self._value_key(seq, 0, "result")
        exit_op.result.CopyFrom(self.codec.wrap(data, key, self.spec.epoch, seq, "result"))
        try:
            self.send(pb.CallRequest(ref=self.ref, seq=seq, exit=exit_op))
        except (Superseded, JobFinished):
            raise
        except CoordinatorError as e:
            # Refused, so not applied (a limit, say): the seq is free for the fail.
            self._fail(f"exit refused by the coordinator ({e.reason}): {e}")
        self.seq = seq
        raise Ended("exited")

    def _exit_fits_inline(self, text: str, data: bytes, seq: int) -> bool:
        """Whether the exit names no store key: its result JSON and its
        pickled result both go inline."""
        if len(text.encode("utf-8")) > self.codec.limits.inline_result:
            return False
        self.codec.begin_call()
        return self.codec.inline(data, self.spec.epoch, seq) is not None

    def _result_json(self, text: str, seq: int) -> pb.ExitOp:
        """The exit's result JSON: inline when small, else written to the
        store (a sealed value of kind "json") and named by key, so the job's
        record, listings and the Raft log never carry it."""
        data = text.encode("utf-8")
        limits = self.codec.limits
        if len(data) > limits.result:
            self._fail(f"the job's result is {len(data)} bytes of JSON; the limit is {limits.result} "
                       "(kappa server --max-result-bytes): return a smaller result and write bulk data "
                       "to your own storage")
        if len(data) <= limits.inline_result:
            return pb.ExitOp(result_json=text)
        key = self._value_key(seq, 0, "json")
        self.codec.put(key, self._header(seq, "json"), data)
        return pb.ExitOp(result_json_key=key, result_json_bytes=len(data))

    def _fail(self, error: str):
        seq = self.seq + 1
        self.send(pb.CallRequest(ref=self.ref, seq=seq, fail=pb.FailOp(error=error)))
        self.seq = seq
        raise Ended("failed")
