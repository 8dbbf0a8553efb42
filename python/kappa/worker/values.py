"""Pickled values on the wire: inline when small, by key in the store when
large, so big values never bloat the Raft log."""

from __future__ import annotations

from kappa.pickling import dumps, loads
from kappa.store import KeyExistsError
from kappa.store.envelope import Header, expect, open_envelope, seal
from kappa.v1 import task_pb2 as pb

# Values up to this size travel inline in the call (and the Raft log).
INLINE_LIMIT = 64 * 1024


class ValueCodec:
    """Encodes and decodes values for one task of one job. Every blob it
    writes is sealed with the cluster key and names cluster, job, task,
    epoch, seq, kind and program; every blob it reads is checked against
    them before anything is unpickled."""

    def __init__(self, store, cluster_key: bytes, job: int, task: int, program: str, cluster: str = ""):
        self.store = store
        self.key = cluster_key
        self.cluster = cluster
        self.job = job
        self.task = task
        self.program = program

    def encode(self, obj, key: str, epoch: int, seq: int, kind: str, what: str = "the value") -> pb.Value:
        """Pickles obj (UnpicklableValue names `what` if it can't be)."""
        return self.wrap(dumps(obj, what), key, epoch, seq, kind)

    def wrap(self, data: bytes, key: str, epoch: int, seq: int, kind: str) -> pb.Value:
        """An already pickled value: inline, or written under key."""
        if len(data) <= INLINE_LIMIT:
            return pb.Value(inline=data)
        self.put(key, self.header(epoch, seq, kind), data)
        return pb.Value(key=key)

    def header(self, epoch: int, seq: int, kind: str) -> Header:
        return Header(cluster=self.cluster, job=self.job, task=self.task, epoch=epoch, seq=seq, kind=kind,
                      program=self.program)

    def put(self, key: str, header: Header, payload: bytes) -> int:
        blob = seal(self.key, header, payload)
        try:
            self.store.put(key, blob)
        except KeyExistsError:
            # Only this claim writes keys of its epoch: a retry after a
            # failed call finds its own earlier write.
            pass
        return len(blob)

    def read(self, key: str, **identity) -> bytes:
        header, payload = open_envelope(self.key, self.store.get(key), key)
        expect(header, key, cluster=self.cluster, job=self.job, program=self.program, **identity)
        return payload

    def decode(self, value: pb.Value):
        which = value.WhichOneof("where")
        if which == "inline":
            return loads(value.inline)
        if which == "key":
            return loads(self.read(value.key))
        raise ValueError("empty value")
