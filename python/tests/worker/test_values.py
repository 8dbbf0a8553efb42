"""Values on the wire are envelopes too: inline ones are sealed with the
job's key and checked before they are unpickled, unit by unit and through
`kappa run`."""

import pickle

import pytest

from kappa.store import DirStore
from kappa.store.envelope import TamperedError
from kappa.v1 import task_pb2 as pb
from kappa.worker.values import INLINE_LIMIT, ValueCodec
from worker.kapparun import run_program


def codec(tmp_path, job=7, keys=None, kid="k1", cluster="c1"):
    c = ValueCodec(DirStore(str(tmp_path)), job, 2, "prog")
    c.use_grant(pb.ClaimResponse(cluster_id=cluster, key_id=kid, job_keys=[
        pb.JobKey(id=i, key=k) for i, k in (keys or {"k1": b"1" * 32}).items()]))
    return c


def test_inline_values_are_sealed_and_checked(tmp_path):
    c = codec(tmp_path)
    v = c.encode({"n": 1}, "jobs/j7/t2/e1-s1-result0.val", 1, 1, "result")
    assert v.WhichOneof("where") == "inline" and v.inline.startswith(b"KAPPAEV1")
    assert c.decode(v) == {"n": 1}
    flipped = bytearray(v.inline)
    flipped[-33] ^= 1
    with pytest.raises(TamperedError, match=r"at the result of task t3 \(inline\): the hmac-sha256 tag does not match"):
        c.decode(pb.Value(inline=bytes(flipped)), "the result of task t3")
    # A bare pickle is no envelope: refused before it is unpickled.
    with pytest.raises(TamperedError, match="not a Kappa envelope"):
        c.decode(pb.Value(inline=pickle.dumps(1)))
    # Another job's value does not verify with this job's key.
    other = codec(tmp_path, job=8, keys={"k1": b"8" * 32}).encode(1, "k", 1, 1, "result")
    with pytest.raises(TamperedError, match="tag does not match"):
        c.decode(other)


def test_the_envelope_counts_against_the_inline_limit(tmp_path):
    c = codec(tmp_path)
    room = INLINE_LIMIT - len(c.seal_inline(b"", 1, 1))
    just_fits = c.wrap(b"x" * room, "jobs/j7/t2/e1-s1-item0.val", 1, 1, "item")
    assert just_fits.WhichOneof("where") == "inline" and len(just_fits.inline) == INLINE_LIMIT
    too_big = c.wrap(b"x" * INLINE_LIMIT, "jobs/j7/t2/e1-s1-item1.val", 1, 1, "item")
    assert too_big.WhichOneof("where") == "key"
    assert c.read_value(too_big) == b"x" * INLINE_LIMIT


# A cluster from before key files (its grant carries the cluster-wide key)
# keeps the old format, which its older workers read.
def test_a_legacy_cluster_keeps_its_inline_values_bare(tmp_path):
    c = ValueCodec(DirStore(str(tmp_path)), 7, 2, "prog")
    c.use_grant(pb.ClaimResponse(cluster_id="c1", cluster_key=b"L" * 32))
    v = c.encode([1, 2], "k", 1, 1, "result")
    assert not v.inline.startswith(b"KAPPAEV1") and pickle.loads(v.inline) == [1, 2]
    assert c.decode(v) == [1, 2]


# A child that tampers with its own result on the way out (or sends a bare
# pickle): its parent refuses the value before unpickling it, and the job
# fails with the check that failed.
TAMPERING = """
from kappa import spawn
import kappa.worker.values as values

def child(mode):
    real = values.ValueCodec.seal_inline
    def tampered(self, data, epoch, seq):
        if mode == "bare":
            return data
        sealed = bytearray(real(self, data, epoch, seq))
        sealed[-33] ^= 1
        return bytes(sealed)
    values.ValueCodec.seal_inline = tampered
    return 42

def handler(event, context):
    return spawn(child, (event["mode"],)).wait()
"""


@pytest.mark.parametrize("mode, error", [
    ("flip", "the result of task t2 (inline): the hmac-sha256 tag does not match (key id 'k1')"),
    ("bare", "the result of task t2 (inline): not a Kappa envelope"),
])
def test_a_tampered_inline_value_fails_the_task_that_reads_it(tmp_path, mode, error):
    r = run_program(TAMPERING, {"mode": mode}, tmp_path=tmp_path)
    assert r.code != 0
    assert "refusing stored data: integrity check failed at " + error in r.stderr, r.stderr[-3000:]
