"""Pickled values on the wire: inline when small, by key in the store when
large, so big values never bloat the Raft log. Both are sealed envelopes:
a value is unpickled only after its MAC and identity check out."""

from __future__ import annotations

from dataclasses import dataclass

from kappa.pickling import dumps, loads
from kappa.store import KeyExistsError
from kappa.store.envelope import LEGACY, Header, TamperedError, expect, is_envelope, open_envelope, seal
from kappa.v1 import task_pb2 as pb


@dataclass(frozen=True)
class Limits:
    """The coordinator's size limits, as the claim names them (`kappa
    server --max-…`); the defaults are for a coordinator that names none.
    A value travels inline in its call (and the Raft log) when it is at
    most inline_value bytes and fits what is left of call_inline; else it
    goes to the store by key. So does a result JSON over inline_result;
    one over result fails the task."""

    inline_value: int = 64 * 1024
    call_inline: int = 2 * 1024 * 1024
    inline_result: int = 256 * 1024
    result: int = 64 * 1024 * 1024

    @classmethod
    def from_claim(cls, limits: pb.Limits) -> Limits:
        d = cls()
        return cls(inline_value=limits.inline_value_bytes or d.inline_value,
                   call_inline=limits.call_inline_bytes or d.call_inline,
                   inline_result=limits.inline_result_bytes or d.inline_result,
                   result=limits.result_bytes or d.result)


# The default inline limit (sealed: the envelope's header and tag count).
INLINE_LIMIT = Limits().inline_value

# The kind of an inline value's envelope: bound to the job, not to one
# task's call, since whoever reads it (a waiter, a consumer) is another task.
INLINE_KIND = "value"


class ValueCodec:
    """Encodes and decodes values for one task of one job. Every blob it
    writes, inline or by key, is sealed with the job's key and names
    cluster, job, task, epoch, seq, kind and program; every blob it reads is
    checked against them before anything is unpickled.

    The keys come with the claim grant (use_grant): the job's keys by key
    id and the id to seal with. A grant of a cluster from before key files
    carries the cluster-wide key instead ("legacy"), and values then travel
    inline unsealed, as workers of that version expect. The claim's limits
    (Limits.from_claim) say how much travels inline."""

    def __init__(self, store, job: int, task: int, program: str, cluster: str = "",
                 limits: Limits = Limits()):
        self.store = store
        self.keys: dict[str, bytes] = {}
        self.kid = ""
        self.cluster = cluster
        self.job = job
        self.task = task
        self.program = program
        self.limits = limits
        self._inline_left = limits.call_inline

    def begin_call(self) -> None:
        """The values wrapped from now on belong to one new call."""
        self._inline_left = self.limits.call_inline

    def use_grant(self, grant: pb.ClaimResponse) -> None:
        self.cluster = grant.cluster_id
        self.keys = {k.id: k.key for k in grant.job_keys}
        self.kid = grant.key_id
        if not self.kid and grant.cluster_key:
            self.keys, self.kid = {LEGACY: grant.cluster_key}, LEGACY

    def encode(self, obj, key: str, epoch: int, seq: int, kind: str, what: str = "the value") -> pb.Value:
        """Pickles obj (UnpicklableValue names `what` if it can't be)."""
        return self.wrap(dumps(obj, what), key, epoch, seq, kind)

    def wrap(self, data: bytes, key: str, epoch: int, seq: int, kind: str) -> pb.Value:
        """An already pickled value: inline, or written under key."""
        value = self.inline(data, epoch, seq)
        if value is not None:
            return value
        self.put(key, self.header(epoch, seq, kind), data)
        return pb.Value(key=key)

    def inline(self, data: bytes, epoch: int, seq: int) -> pb.Value | None:
        """The value inline when it fits what is left of the call, else
        None (nothing written)."""
        inline = self.seal_inline(data, epoch, seq)
        if len(inline) <= min(self.limits.inline_value, self._inline_left):
            self._inline_left -= len(inline)
            return pb.Value(inline=inline)
        return None

    def seal_inline(self, data: bytes, epoch: int, seq: int) -> bytes:
        """The bytes of an inline value: sealed (unsealed only for a
        cluster from before key files)."""
        if self.kid == LEGACY:
            return data
        return seal(self.kid, self._sealing_key(), self.header(epoch, seq, INLINE_KIND), data)

    def open_inline(self, data: bytes, what: str) -> bytes:
        """Checks an inline value and returns its pickle; TamperedError
        names `what` when it does not check out."""
        if not is_envelope(data) and LEGACY in self.keys:
            # Written unsealed by a worker of a cluster from before key
            # files: only a job that old holds the legacy key.
            return data
        header, payload = open_envelope(self.keys, data, what)
        expect(header, what, cluster=self.cluster, job=self.job, program=self.program, kind=INLINE_KIND)
        return payload

    def _sealing_key(self) -> bytes:
        key = self.keys.get(self.kid)
        if key is None:
            raise TamperedError(f"cannot seal: the claim grant named key id {self.kid!r} without its key")
        return key

    def header(self, epoch: int, seq: int, kind: str) -> Header:
        return Header(cluster=self.cluster, job=self.job, task=self.task, epoch=epoch, seq=seq, kind=kind,
                      program=self.program)

    def put(self, key: str, header: Header, payload: bytes) -> int:
        blob = seal(self.kid, self._sealing_key(), header, payload)
        try:
            self.store.put(key, blob)
        except KeyExistsError:
            # Only this claim writes keys of its epoch: a retry after a
            # failed call finds its own earlier write.
            pass
        return len(blob)

    def read(self, key: str, **identity) -> bytes:
        header, payload = open_envelope(self.keys, self.store.get(key), key)
        expect(header, key, cluster=self.cluster, job=self.job, program=self.program, **identity)
        return payload

    def read_value(self, value: pb.Value, what: str = "a value") -> bytes:
        """The checked pickle of a value, inline or by key."""
        which = value.WhichOneof("where")
        if which == "inline":
            return self.open_inline(value.inline, f"{what} (inline)")
        if which == "key":
            return self.read(value.key)
        raise ValueError(f"{what}: empty value")

    def decode(self, value: pb.Value, what: str = "a value"):
        return loads(self.read_value(value, what))
