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
