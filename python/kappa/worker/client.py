"""The worker's connection to the coordinator (the task API over gRPC).

Calls that fail because no leader can be reached are retried with jittered
backoff until a deadline; since every call carries its claim and seq, a
retried call that did commit gets its stored response, never a second apply.
Refusals the coordinator decided (superseded, bad seq, …) are raised as
precise exceptions and never retried.
"""

from __future__ import annotations

import os
import threading

import grpc

from kappa.backoff import Backoff, chance
from kappa.v1 import task_pb2 as pb
from kappa.v1 import task_pb2_grpc as pb_grpc

REASON_KEY = "kappa-reason"
# The invocation's task secret travels with every call under this key; the
# coordinator serves a call only for the launch the secret was drawn for.
TASK_SECRET_KEY = "kappa-task-secret"


class CoordinatorError(Exception):
    """The coordinator refused a call; `reason` is an ErrorReason name."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class Superseded(CoordinatorError):
    """This invocation's claim is no longer current: stop at once."""


class JobFinished(CoordinatorError):
    """The job ended (succeeded, failed or cancelled) while this task ran."""


class Unreachable(Exception):
    """No leader could be reached before the deadline."""


# Tests only: KAPPA_TEST_RESEND_CALLS=P re-sends a committed Call with
# probability P (a lost response), which the coordinator's dedup must make
# harmless (the Jepsen-style suite's no-dedup check relies on it).
def _resend_probability() -> float:
    raw = os.environ.get("KAPPA_TEST_RESEND_CALLS") or "0"
    try:
        p = float(raw)
    except ValueError:
        p = -1.0
    if not 0 <= p <= 1:
        raise ValueError(f"KAPPA_TEST_RESEND_CALLS={raw!r}: want a probability between 0 and 1")
    return p


_RESEND_CALLS = _resend_probability()

# RESOURCE_EXHAUSTED is not among them: a call over one of the
# coordinator's size limits is refused the same way however often it is
# sent, so it is final (the task fails with the limit's name).
_RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}

_channels: dict[tuple, grpc.Channel] = {}
# One stub per channel: making one builds a callable per method.
_stubs: dict[tuple, pb_grpc.TaskServiceStub] = {}
_channels_lock = threading.Lock()

_OPTIONS = [
    ("grpc.max_send_message_length", 64 << 20),
    ("grpc.max_receive_message_length", 64 << 20),
]


def _channel(addr: str, ca_pem: str) -> grpc.Channel:
    """A channel to one coordinator, reused across warm invocations: over TLS
    trusting the cluster's CA when the invocation named one (the server's
    certificate must name the address's host), else plaintext."""
    key = (addr, ca_pem)
    with _channels_lock:
        ch = _channels.get(key)
        if ch is None:
            if ca_pem:
                creds = grpc.ssl_channel_credentials(root_certificates=ca_pem.encode())
                ch = grpc.secure_channel(addr, creds, options=_OPTIONS)
            else:
                ch = grpc.insecure_channel(addr, options=_OPTIONS)
            _channels[key] = ch
        return ch


class Client:
    def __init__(self, addrs: list[str], call_timeout: float = 15.0, retry_for: float = 60.0, ca_pem: str = "",
                 task_secret: str = ""):
        if not addrs:
            raise ValueError("no coordinator address given")
        self.addrs = list(addrs)
        self.ca_pem = ca_pem
        self.call_timeout = call_timeout
        self.retry_for = retry_for
        self._next = 0
        self._metadata = ((TASK_SECRET_KEY, task_secret),) if task_secret else ()

    def _stub(self) -> pb_grpc.TaskServiceStub:
        key = (self.addrs[self._next % len(self.addrs)], self.ca_pem)
        stub = _stubs.get(key)
        if stub is None:
            stub = _stubs[key] = pb_grpc.TaskServiceStub(_channel(*key))
        return stub

    def _invoke(self, method: str, request, retry_for: float | None = None):
        backoff = Backoff(self.retry_for if retry_for is None else retry_for)
        while True:
            try:
                return getattr(self._stub(), method)(request, timeout=self.call_timeout, metadata=self._metadata)
            except grpc.RpcError as e:
                reason = _reason(e)
                if e.code() in _RETRYABLE and reason in ("", "NO_LEADER"):
                    if not backoff.wait():
                        raise Unreachable(f"coordinator unreachable at {', '.join(self.addrs)} "
                                          f"for {method}: {e.details()}") from None
                    self._next += 1
                    continue
                cls = {"SUPERSEDED": Superseded, "JOB_FINISHED": JobFinished}.get(reason, CoordinatorError)
                raise cls(reason or e.code().name, _explain(e)) from None

    def claim(self, job: int, task: int, epoch: int, invocation: str, claim: str,
              deferred: bool = False) -> pb.ClaimResponse:
        return self._invoke("Claim", pb.ClaimRequest(job_id=job, task_id=task, epoch=epoch, invocation_id=invocation,
                                                     claim=claim, deferred=deferred))

    def call(self, req: pb.CallRequest) -> pb.CallResponse:
        resp = self._invoke("Call", req)
        if _RESEND_CALLS > 0 and chance(_RESEND_CALLS):
            # Test fault: the response was "lost", so the call is sent again
            # and the second answer used, as a client that timed out would.
            resp = self._invoke("Call", req)
        return resp

    def poll(self, ref: pb.TaskRef, seq: int) -> pb.PollResponse:
        return self._invoke("Poll", pb.PollRequest(ref=ref, seq=seq))

    def park(self, ref: pb.TaskRef, seq: int) -> pb.ParkResponse:
        return self._invoke("Park", pb.ParkRequest(ref=ref, seq=seq))

    def heartbeat(self, ref: pb.TaskRef) -> pb.HeartbeatResponse:
        # A heartbeat is best effort: a short retry window.
        return self._invoke("Heartbeat", pb.HeartbeatRequest(ref=ref), retry_for=2.0)


def _explain(e: grpc.RpcError) -> str:
    """The refusal's message; gRPC's own refusal of a message over the
    coordinator's size limit names only the sizes, so name the limit."""
    details = e.details() or e.code().name
    if e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "larger than max" in details:
        details += " (the coordinator's request limit, kappa server --max-request-bytes)"
    return details


def _reason(e: grpc.RpcError) -> str:
    for k, v in (e.trailing_metadata() or ()):
        if k == REASON_KEY:
            return v
    return ""
