import pytest

from kappa.worker.handler import handler
from kappa.worker.task import Spec


def test_spec_from_the_leaders_event():
    s = Spec.from_event({"kappa": {"v": 1, "coordinator": ["127.0.0.1:1"], "store": "file:///tmp/x", "job": 1,
                                   "task": 2, "epoch": 3, "invocation": "i", "program": "p", "busy_wait_ms": 500}})
    assert (s.job, s.task, s.epoch, s.busy_wait, s.heartbeat) == (1, 2, 3, 0.5, 2.0)
    assert s.task_secret == ""
    assert s.ca_pem == ""  # a plaintext cluster


def test_spec_carries_the_clusters_ca():
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    s = Spec.from_event({"kappa": {"v": 1, "coordinator": ["127.0.0.1:1"], "store": "file:///tmp/x", "job": 1,
                                   "task": 2, "epoch": 3, "invocation": "i", "program": "p", "ca_pem": pem}})
    assert s.ca_pem == pem


def test_channels_are_kept_per_address_and_ca():
    from kappa.worker import client
    plain = client._channel("127.0.0.1:1", "")
    assert client._channel("127.0.0.1:1", "") is plain
    # A CA makes it another (TLS) channel; the PEM is only parsed at connect.
    secure = client._channel("127.0.0.1:1", "-----BEGIN CERTIFICATE-----\n")
    assert secure is not plain


def test_the_task_secret_is_kept_but_never_shown():
    s = Spec.from_event({"kappa": {"v": 1, "coordinator": ["127.0.0.1:1"], "store": "file:///tmp/x", "job": 1,
                                   "task": 2, "epoch": 3, "invocation": "i", "program": "p", "task_secret": "5ec7e7"}})
    assert s.task_secret == "5ec7e7"
    assert "5ec7e7" not in repr(s)


@pytest.mark.parametrize("event,msg", [
    ({}, "not a Kappa invocation"),
    ("text", "not a Kappa invocation"),
    ({"kappa": {"job": 1}}, "malformed Kappa invocation event"),
])
def test_bad_events_are_refused_clearly(event, msg):
    with pytest.raises(ValueError, match=msg):
        handler(event, None)


def _event_with_grant(grant):
    return {"kappa": {"v": 1, "coordinator": ["127.0.0.1:1"], "store": "file:///tmp/x", "job": 1, "task": 2,
                      "epoch": 3, "invocation": "i", "program": "p", "grant": grant}}


def test_the_grant_in_the_event_is_used_without_a_claim():
    import base64
    import types

    from kappa.v1 import task_pb2 as pb
    from kappa.worker.task import TaskRun

    sent = pb.ClaimResponse(seq=4, program_hash="p", deferred=True, key_id="k1")
    s = Spec.from_event(_event_with_grant(base64.b64encode(sent.SerializeToString()).decode()))
    assert "grant" not in repr(s)  # it holds the job's keys

    class NoClaims:
        def claim(self, *a, **k):
            raise AssertionError("claimed although the event carried the grant")

    run = types.SimpleNamespace(spec=s, client=NoClaims(), ref=pb.TaskRef(claim="n"))
    assert TaskRun._grant(run) == sent

    class Reads:
        def claim(self, *a, **k):
            return sent

    # Without one (an older leader, a large grant) the worker reads it.
    run = types.SimpleNamespace(spec=Spec.from_event(_event_with_grant("")), client=Reads(), ref=pb.TaskRef(claim="n"))
    assert TaskRun._grant(run) == sent


def test_a_malformed_grant_in_the_event_is_refused_clearly():
    with pytest.raises(ValueError, match="malformed Kappa invocation event"):
        Spec.from_event(_event_with_grant("not base64!"))


def test_a_storeless_first_exit_is_returned_when_the_leader_sent_the_grant():
    import threading
    import types

    from kappa.v1 import task_pb2 as pb
    from kappa.worker.task import TaskRun

    class Sent:
        def __init__(self):
            self.calls = []

        def call(self, req):
            self.calls.append(req)
            return pb.CallResponse()

    def run(grant, req):
        spec = Spec.from_event(_event_with_grant(grant))
        return types.SimpleNamespace(spec=spec, client=Sent(), claimed=False, ended=False, returned_call=None,
                                     _claim_lock=threading.Lock())

    exit_req = pb.CallRequest(seq=1, exit=pb.ExitOp(result_json='"v"'))
    r = run("Cg==", exit_req)  # any grant: the leader commits returned calls
    TaskRun.send(r, exit_req)
    assert r.returned_call is exit_req and r.returned_call.claim_invocation == "i"
    assert r.ended and not r.client.calls  # nothing sent, nothing may claim for it any more

    # A call that writes to the store, or any call without the event's
    # grant (an older leader), is sent, carrying the claim.
    for grant, req in (("Cg==", pb.CallRequest(seq=1, checkpoint_key="k", exit=pb.ExitOp())),
                       ("", pb.CallRequest(seq=1, exit=pb.ExitOp(result_json='"v"')))):
        r = run(grant, req)
        TaskRun.send(r, req)
        assert r.returned_call is None and r.client.calls == [req] and r.claimed


def test_a_restored_task_claims_before_its_first_call_or_poll():
    """A task restored from a checkpoint may call (the wait of a blocking
    spawn) or poll (a blocked response) before any pause of its own; with
    a deferred claim it must claim first, or the coordinator refuses it as
    superseded and every relaunch ends the same way."""
    import types

    from kappa.v1 import task_pb2 as pb
    from kappa.worker.task import TaskRun

    order = []

    class Stop(Exception):
        pass

    def stop(what):
        def f(*a, **k):
            order.append(what)
            raise Stop
        return f

    run = types.SimpleNamespace(
        ensure_claimed=lambda: order.append("claim"), seq=3, ref=None,
        spec=types.SimpleNamespace(job=1, task=2, epoch=3),
        module=None, codec=types.SimpleNamespace(put=stop("checkpoint")), _header=lambda *a: None,
        client=types.SimpleNamespace(poll=stop("poll"), park=stop("park")),
        pacer=types.SimpleNamespace(remaining=lambda: 10.0, margin=lambda: 0.0, yield_due=False))
    import kappa.runtime as rt
    saved, rt.dump_state = rt.dump_state, lambda *a: b"state"
    try:
        with pytest.raises(Stop):
            TaskRun.call(run, [], None, "wait", pb.WaitOp())
    finally:
        rt.dump_state = saved
    run.spec.busy_wait = 1.0
    with pytest.raises(Stop):
        TaskRun.block(run, 0)
    assert order == ["claim", "checkpoint", "claim", "poll"]
