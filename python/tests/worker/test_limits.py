"""The coordinator's size limits as a worker keeps to them: values go by
key once their call's inline budget is spent, a result JSON over the
inline limit is stored and one over the result limit fails the task, and a
refusal over a limit (RESOURCE_EXHAUSTED) is final, never retried."""

from concurrent import futures

import grpc
import pytest

from kappa.store.dirstore import DirStore
from kappa.store.envelope import open_envelope
from kappa.v1 import task_pb2 as pb
from kappa.v1 import task_pb2_grpc as pb_grpc
from kappa.worker.client import Client, CoordinatorError
from kappa.worker.task import Ended, Spec, TaskRun
from kappa.worker.values import Limits, ValueCodec


def test_limits_come_from_the_claim_with_defaults_for_an_older_coordinator():
    assert Limits.from_claim(pb.Limits()) == Limits()
    got = Limits.from_claim(pb.Limits(inline_value_bytes=10, call_inline_bytes=20, inline_result_bytes=30,
                                      result_bytes=40))
    assert got == Limits(inline_value=10, call_inline=20, inline_result=30, result=40)


# A claim grant's keys: the job's key k1.
KEY = b"k" * 32
GRANT = pb.ClaimResponse(cluster_id="c", key_id="k1", job_keys=[pb.JobKey(id="k1", key=KEY)])


def test_values_go_by_key_past_the_value_limit_or_the_calls_budget(tmp_path):
    codec = ValueCodec(DirStore(str(tmp_path)), job=1, task=2, program="p")
    codec.use_grant(GRANT)
    # The limits count an inline value sealed, its envelope included.
    sealed = len(codec.seal_inline(b"", 1, 1)) + 100
    codec.limits = Limits(inline_value=sealed, call_inline=2 * sealed + 50)

    def wrap(i, size):
        return codec.wrap(b"v" * size, f"jobs/j1/t2/e1-s1-item{i}.val", 1, 1, "item").WhichOneof("where")

    codec.begin_call()
    assert [wrap(0, 100), wrap(1, 101), wrap(2, 100), wrap(3, 100)] == ["inline", "key", "inline", "key"]
    codec.begin_call()
    assert wrap(4, 100) == "inline"


class Context:
    def get_remaining_time_in_millis(self):
        return 10**12


class Recorder:
    """A coordinator that records calls and answers them with ack."""

    def __init__(self):
        self.calls = []
        self.claims = []

    def call(self, req):
        self.calls.append(req)
        return pb.CallResponse(ack=pb.Ack())

    def claim(self, *args, **kwargs):
        self.claims.append((args, kwargs, len(self.calls)))
        return pb.ClaimResponse()


def _run(tmp_path, limits):
    spec = Spec(coordinator=["127.0.0.1:1"], store=str(tmp_path), job=1, task=1, epoch=1, invocation="i", program="p")
    run = TaskRun(spec, Context())
    run.client, run.root = Recorder(), True
    run.codec.use_grant(GRANT)
    run.codec.limits = limits
    return run


def test_a_large_result_json_is_stored_by_key(tmp_path):
    run = _run(tmp_path, Limits(inline_result=50))
    with pytest.raises(Ended, match="exited"):
        run._exit("r" * 100)
    ex = run.client.calls[0].exit
    assert ex.result_json == "" and ex.result_json_bytes == 102 and ex.result_json_key == "jobs/j1/t1/e1-s1-json0.val"
    header, payload = open_envelope({"k1": KEY}, DirStore(str(tmp_path)).get(ex.result_json_key), ex.result_json_key)
    assert payload == b'"' + b"r" * 100 + b'"' and header.kind == "json" and header.seq == 1
    # A deferred claim is committed before the store write, not with the exit.
    assert len(run.client.claims) == 1 and run.client.claims[0][2] == 0 and run.client.calls[0].claim_invocation == ""
    small = _run(tmp_path / "small", Limits(inline_result=500))
    with pytest.raises(Ended):
        small._exit("r" * 100)
    assert small.client.calls[0].exit.result_json == '"' + "r" * 100 + '"'
    # Nothing written: the exit itself claims the launch.
    assert small.client.claims == [] and small.client.calls[0].claim_invocation == "i"


def test_a_result_stored_by_key_is_claimed_before_it_is_written(tmp_path):
    run = _run(tmp_path, Limits(inline_value=10))
    with pytest.raises(Ended, match="exited"):
        run._exit("x" * 1000)
    (call,) = run.client.calls
    assert call.exit.result.key and call.claim_invocation == ""
    assert len(run.client.claims) == 1 and run.client.claims[0][2] == 0


def test_a_result_over_the_limit_fails_the_task_naming_the_flag(tmp_path):
    run = _run(tmp_path, Limits(inline_result=50, result=80))
    with pytest.raises(Ended, match="failed"):
        run._exit("r" * 100)
    (call,) = run.client.calls
    assert call.WhichOneof("op") == "fail"
    assert "the job's result is 102 bytes of JSON; the limit is 80 (kappa server --max-result-bytes)" in call.fail.error


class Refuser(pb_grpc.TaskServiceServicer):
    """A coordinator that refuses every call as over gRPC's message limit."""

    def __init__(self):
        self.calls = 0

    def Call(self, request, context):
        self.calls += 1
        context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "grpc: received message larger than max (9 vs. 8)")


def test_resource_exhausted_is_final_and_names_the_limit():
    refuser = Refuser()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    pb_grpc.add_TaskServiceServicer_to_server(refuser, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        client = Client([f"127.0.0.1:{port}"], retry_for=30)
        with pytest.raises(CoordinatorError) as e:
            client.call(pb.CallRequest(seq=1))
        assert refuser.calls == 1
        assert e.value.reason == "RESOURCE_EXHAUSTED"
        assert "kappa server --max-request-bytes" in str(e.value)
    finally:
        server.stop(0)
