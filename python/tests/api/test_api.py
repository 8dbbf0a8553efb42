"""The task API on its own (no coordinator): what each call asks for, how
API objects pickle, the errors raised before anything is sent, and the
original Kappa's `rt` names."""

import pickle
import threading

import pytest

import kappa
import rt
from kappa.api import ExternalCall, SpawnRequest, TaskIdentity, set_current_task
from kappa.pickling import UnpicklableValue
from kappa.queues import CreateQueuesRequest, DequeueRequest, EnqueueRequest, Queue
from kappa.runtime import Capture


def request_of(fn, *args, **kwargs):
    with pytest.raises(Capture) as c:
        fn(*args, **kwargs)
    return c.value.request


def test_rt_keeps_the_original_names():
    for name in ("checkpoint", "pause", "spawn", "spawn_many", "map_spawn", "create_queue", "create_queues",
                 "on_coordinator", "exit_process", "reconstructor", "wait", "call_external"):
        assert getattr(rt, name) is getattr(kappa, name), name


def test_queue_requests():
    assert request_of(kappa.create_queue, 5) == CreateQueuesRequest(max_size=5, count=1, many=False)
    assert request_of(kappa.create_queues, 0, 3) == CreateQueuesRequest(max_size=0, count=3, many=True)
    assert kappa.create_queues(2, 0) == []
    q = Queue(3, 7)
    req = request_of(q.enqueue, "a", [1, 2])
    assert isinstance(req, EnqueueRequest) and req.queue == q
    assert [pickle.loads(i) for i in req.items] == ["a", [1, 2]]
    assert request_of(q.enqueue, 1, is_async=True).items == (pickle.dumps(1, protocol=5),)
    assert q.enqueue() is None   # nothing to put: no call at all
    assert request_of(q.dequeue) == DequeueRequest(queue=q)


@pytest.mark.parametrize("bad", [-1, 2**32, 1.5, True, "3"])
def test_queue_sizes_are_checked(bad):
    with pytest.raises(ValueError, match="max_size must be an integer from 0 to"):
        kappa.create_queue(bad)


def test_queues_pickle_as_ids():
    q = Queue(3, 7)
    assert pickle.loads(pickle.dumps(q)) == q
    assert len(pickle.dumps(q)) < 80
    assert repr(q) == "Queue(j3/q7)"
    assert {q: 1}[Queue(3, 7)] == 1


def test_an_unpicklable_item_is_refused_before_anything_is_sent():
    with pytest.raises(UnpicklableValue, match=r"Queue\(j3/q7\)\.enqueue: item 1 of type _thread\.lock can't be "
                                               r"pickled \(TypeError: cannot pickle '_thread\.lock' object\)"):
        Queue(3, 7).enqueue("fine", threading.Lock())
    assert issubclass(UnpicklableValue, TypeError)


def target(call, x):
    return x


@kappa.on_coordinator
def on_leader():
    return 1


def test_spawn_flags():
    child = request_of(kappa.spawn, on_leader).children[0]
    assert child.on_coordinator and not child.external
    req = request_of(kappa.call_external, target, 4, scale=2)
    assert isinstance(req, SpawnRequest) and req.blocking
    child = req.children[0]
    assert child.external and child.args == (4,) and child.kwargs == {"scale": 2}
    req = request_of(kappa.spawn, target, (4,), external=True)
    assert req.children[0].external and not req.blocking


def test_external_call_key_and_attempt():
    call = ExternalCall("kappa-abc", 12, 7)
    assert call.key == "kappa/kappa-abc/j12/t7"
    assert call.attempt == 0     # not running as that task
    set_current_task(TaskIdentity(cluster="kappa-abc", job=12, task=7, attempt=3, external=True))
    try:
        assert call.attempt == 3
        assert call.headers() == {"Idempotency-Key": "kappa/kappa-abc/j12/t7", "Kappa-Attempt": "3"}
        restored = pickle.loads(pickle.dumps(call))
        assert restored.key == call.key and restored.attempt == 3
        assert kappa.current_task().attempt == 3
    finally:
        set_current_task(None)
    assert kappa.current_task() is None
