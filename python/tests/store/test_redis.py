"""The Redis store against a real redis-server: create-only durable puts
under the shared key layout, the durability and eviction checks, AUTH, TLS,
WAIT for replicas, and an unreachable server (retried, then a clear error)."""

import pathlib
import random
import subprocess
import threading
import time

import pytest
import redis

from kappa.store import KeyExistsError, KeyNotFoundError, open_store
from kappa.store.envelope import Header, open_envelope, seal
from kappa.store.keys import checkpoint_key, value_key
from kappa.store.redisstore import RedisStore, StoreError, StoreUnavailable

from .redis_server import DURABLE, free_port, needs_redis

pytestmark = needs_redis


def test_puts_are_create_only_under_the_shared_layout(redis_server):
    srv = redis_server(*DURABLE)
    s = open_store(srv.url(path="/3"))
    key = checkpoint_key(7, 2, 1, 4)
    sealed = seal("k1", b"k", Header(job=7, task=2, epoch=1, seq=4, kind="checkpoint"), b"state")
    s.put(key, sealed)
    with pytest.raises(KeyExistsError):
        s.put(key, b"other")
    assert open_envelope({"k1": b"k"}, s.get(key))[1] == b"state"
    # The Go side reads the very same key name in the same database.
    assert redis.Redis(port=srv.port, db=3).get("jobs/j7/t2/e1-s4.ckpt") == sealed
    with pytest.raises(KeyNotFoundError):
        s.get(value_key(7, 2, 1, 4, 0, "item"))
    assert s.exists(key)
    s.delete(key)
    assert not s.exists(key)
    with pytest.raises(ValueError, match="invalid store key"):
        s.put("../escape", b"x")


def test_refuses_a_server_that_does_not_fsync_every_write(redis_server):
    srv = redis_server("--appendonly", "yes", "--appendfsync", "everysec")
    want = "appendfsync everysec.*set `appendonly yes` and `appendfsync always`, or add ?"
    with pytest.raises(StoreError, match=want):
        RedisStore(srv.url())


def test_refuses_a_server_that_may_evict(redis_server):
    srv = redis_server(*DURABLE, "--maxmemory-policy", "allkeys-lru")
    with pytest.raises(StoreError, match="maxmemory-policy 'allkeys-lru'.*noeviction"):
        RedisStore(srv.url())


def test_wait_for_replicas_instead_of_fsync(redis_server):
    primary = redis_server("--repl-diskless-sync-delay", "0")
    replica = redis_server("--replicaof", "127.0.0.1", str(primary.port))
    deadline = time.monotonic() + 10
    while redis.Redis(port=replica.port).info("replication").get("master_link_status") != "up":
        assert time.monotonic() < deadline, "the replica did not connect"
        time.sleep(0.05)
    s = RedisStore(primary.url(query="?wait=1&wait_timeout_ms=2000"))
    s.put("jobs/j1/t1/e1-s1.ckpt", b"x")
    assert redis.Redis(port=replica.port).get("jobs/j1/t1/e1-s1.ckpt") == b"x"
    # Two replicas asked for, one there: a clear error once the retry window ends.
    s2 = RedisStore(primary.url(query="?wait=2&wait_timeout_ms=100"), retry_for=0.3)
    with pytest.raises(StoreUnavailable, match="reached 1 of 2 replicas"):
        s2.put("jobs/j1/t1/e1-s2.ckpt", b"y")


def test_auth(redis_server):
    srv = redis_server(*DURABLE, "--requirepass", "s3cret")
    s = RedisStore(srv.url(auth=":s3cret@"))
    s.put("programs/abc.zip", b"bundle")
    assert s.get("programs/abc.zip") == b"bundle"
    with pytest.raises(StoreError, match=r"redis://:\*\*\*@127\.0\.0\.1:\d+ refused the credentials") as e:
        RedisStore(srv.url(auth=":wrong@"))
    assert "wrong" not in str(e.value)
    with pytest.raises(StoreError, match="refused the credentials"):
        RedisStore(srv.url())


# The workers' own Redis user, as docs/security.md ("Secrets") makes it:
# Kappa's keys only, programs read-only, and no CONFIG (CONFIG GET
# requirepass would show the server's password). The store works without
# the durability check, which the nodes make.
SECURITY_DOC = pathlib.Path(__file__).resolve().parents[3] / "docs" / "security.md"


def worker_acl(password: str) -> list:
    lines = (x.strip() for x in SECURITY_DOC.read_text().splitlines())
    line = next(x for x in lines if x.startswith("ACL SETUSER kappa-worker"))
    return line.replace("WORKER_PASSWORD", password).split()


def test_a_worker_user_limited_to_kappas_keys(redis_server):
    srv = redis_server(*DURABLE, "--requirepass", "n0de")
    admin = redis.Redis(port=srv.port, password="n0de")
    admin.execute_command(*worker_acl("w0rker"))
    admin.set("programs/abc.zip", b"bundle")
    s = RedisStore(srv.url(auth="kappa-worker:w0rker@"))
    s.put("jobs/j1/t1/e1-s1.ckpt", b"state")
    assert s.get("jobs/j1/t1/e1-s1.ckpt") == b"state"
    assert s.get("programs/abc.zip") == b"bundle"
    worker = redis.Redis(port=srv.port, username="kappa-worker", password="w0rker")
    for denied in (lambda: worker.set("programs/evil.zip", b"x"), lambda: worker.config_get("requirepass"),
                   lambda: worker.set("other", b"x"), lambda: worker.keys("*")):
        with pytest.raises(redis.exceptions.NoPermissionError):
            denied()


def test_tls(redis_server, tmp_path):
    cert, key = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    srv = redis_server(*DURABLE, tls=(cert, key))
    s = RedisStore(srv.url(scheme="rediss", query="?skip_verify=true"))
    s.put("jobs/j1/t1/e1-s1.ckpt", b"over tls")
    assert s.get("jobs/j1/t1/e1-s1.ckpt") == b"over tls"
    with pytest.raises(StoreError, match="TLS certificate not trusted"):
        RedisStore(srv.url(scheme="rediss"))


def test_unreachable_is_retried_then_a_clear_error():
    port = free_port()
    t0 = time.monotonic()
    with pytest.raises(StoreUnavailable, match=rf"Redis at redis://127\.0\.0\.1:{port} unreachable for CONFIG GET "
                                                r"maxmemory-policy \(retried for 0\.5 s\)"):
        RedisStore(f"redis://127.0.0.1:{port}", retry_for=0.5)
    # It kept trying for the whole window the error names (no upper bound:
    # how long a refused connection takes is the machine's business).
    assert time.monotonic() - t0 >= 0.5


def test_a_put_survives_a_redis_restart(redis_server):
    srv = redis_server(*DURABLE)
    s = RedisStore(srv.url(), retry_for=20)
    s.put("jobs/j1/t1/e1-s1.ckpt", b"before")
    srv.stop()
    # The server comes back on the same port (and data dir) while the put retries.
    restarted = []
    timer = threading.Timer(0.7, lambda: restarted.append(redis_server(*DURABLE, port=srv.port, directory=srv.dir)))
    timer.start()
    try:
        s.put("jobs/j1/t1/e1-s2.ckpt", b"after")
    finally:
        timer.join()
    assert s.get("jobs/j1/t1/e1-s2.ckpt") == b"after"
    assert s.get("jobs/j1/t1/e1-s1.ckpt") == b"before"   # appendfsync always: nothing lost


@pytest.mark.parametrize("url,msg", [
    ("redis://127.0.0.1:1/x", "database 'x' is not a number"),
    ("redis://127.0.0.1:1?wait=many", "wait='many' is not a number"),
    ("redis://127.0.0.1:1?wait_timeout_ms=0", "wait_timeout_ms='0' is not a number of at least 1"),
    ("redis://127.0.0.1:1?bogus=1", "unknown option"),
    ("redis://:pw@/", "names no host"),
])
def test_bad_urls(url, msg):
    with pytest.raises(ValueError, match=msg):
        RedisStore(url)


def test_retries_leave_the_programs_random_stream_alone():
    # The global generator is the program's and is saved in its checkpoints:
    # the store's retry jitter must not draw from it, or a run and its
    # replay from the same checkpoint would see different numbers.
    random.seed(7)
    before = random.getstate()
    with pytest.raises(StoreUnavailable):
        RedisStore(f"redis://127.0.0.1:{free_port()}", retry_for=0.3)
    assert random.getstate() == before
