"""The Redis checkpoint store, as the Python runtime sees it (redis-py).

Same keys and semantics as checkpoint/redis.go, which reads, lists and
collects what workers write here:

    redis://[[user]:password@]host:port[/db][?wait=N&wait_timeout_ms=T]
    rediss://…   (TLS; skip_verify=true turns certificate checks off)

A put is create-only (SET NX) and durable before it returns, so no call is
sent before its checkpoint is safe: either the server fsyncs every write
(appendonly yes, appendfsync always) or each put WAITs until N replicas
have it. Once per process and URL the server is checked for that and for
maxmemory-policy noeviction (an evicted checkpoint is a lost task).

An unreachable server is retried with backoff for a bounded time; then
StoreUnavailable ends the invocation, and the task is relaunched from its
last committed checkpoint, so nothing is lost. The other query options of
go-redis (timeouts, pool sizes) tune only the Go side and are ignored here.
"""

from __future__ import annotations

import os
import threading
import time
from urllib.parse import parse_qs, unquote, urlparse

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ..backoff import Backoff
from .dirstore import KeyExistsError, KeyNotFoundError, check_key

# How long one operation keeps retrying an unreachable server (seconds;
# $KAPPA_STORE_RETRY_S in the workers' environment overrides it).
RETRY_FOR = float(os.environ.get("KAPPA_STORE_RETRY_S", "30"))

_GO_ONLY_OPTIONS = {
    "protocol", "client_name", "max_retries", "min_retry_backoff", "max_retry_backoff", "dial_timeout",
    "read_timeout", "write_timeout", "pool_fifo", "pool_size", "pool_timeout", "min_idle_conns",
    "max_idle_conns", "max_active_conns", "max_concurrent_dials", "conn_max_idle_time", "idle_timeout",
    "conn_max_lifetime", "max_conn_age", "db",
}


class StoreError(Exception):
    """The store can't be used as configured; the message says why."""


class StoreUnavailable(StoreError):
    """The store could not be reached within the retry window."""


_checked: set[str] = set()
_checked_lock = threading.Lock()


class RedisStore:
    def __init__(self, url: str, retry_for: float | None = None):
        self._url = url
        self.where = _redact(url)
        self.retry_for = RETRY_FOR if retry_for is None else retry_for
        kwargs, self.wait_n, self.wait_timeout_ms = _parse(url)
        # Retries are ours (bounded, with a clear error), not redis-py's.
        self.client = redis.Redis(socket_timeout=5, socket_connect_timeout=3, retry=Retry(NoBackoff(), 0), **kwargs)
        with _checked_lock:
            if url not in _checked:
                self._check()
                _checked.add(url)

    @property
    def url(self) -> str:
        return self._url

    # ---- checks ----

    def _check(self) -> None:
        policy = self._config("maxmemory-policy")
        if policy is None:
            # A worker's own Redis user (docs/security.md, "Secrets") may not
            # read the configuration (CONFIG GET would show the server's
            # password): the nodes check the server at start.
            return
        if policy != "noeviction":
            raise StoreError(f"checkpoint store: Redis at {self.where} has maxmemory-policy {policy!r}: it could "
                             f"evict checkpoints; set `maxmemory-policy noeviction`")
        if self.wait_n > 0:
            return
        aof, fsync = self._config("appendonly"), self._config("appendfsync")
        if aof != "yes" or fsync != "always":
            raise StoreError(f"checkpoint store: Redis at {self.where} does not make writes durable (appendonly "
                             f"{aof}, appendfsync {fsync}): set `appendonly yes` and `appendfsync always`, or add "
                             f"?wait=N to the store URL to wait for N replicas")

    def _config(self, name: str) -> str | None:
        """A setting of the server; None when this user may not read it."""
        try:
            got = self._retry(f"CONFIG GET {name}", lambda: self.client.config_get(name))
        except redis.exceptions.NoPermissionError:
            return None
        except redis.ResponseError as e:
            raise StoreError(f"checkpoint store: Redis at {self.where}: CONFIG GET {name}: {e} (the store needs "
                             f"CONFIG access to check durability)") from None
        return _text(got.get(name, ""))

    # ---- operations ----

    def put(self, key: str, data: bytes) -> None:
        check_key(key)
        attempts = []

        def set_nx():
            attempts.append(1)
            return self.client.set(key, data, nx=True)

        if not self._retry(f"put {key}", set_nx):
            # A retry may find the write of an attempt whose reply was lost.
            if len(attempts) == 1 or self._retry(f"get {key}", lambda: self.client.get(key)) != data:
                raise KeyExistsError(key)
        if self.wait_n > 0:
            self._wait_replicas(key)

    def _wait_replicas(self, key: str) -> None:
        deadline = time.monotonic() + self.retry_for
        while True:
            got = self._retry(f"WAIT after put {key}", lambda: self.client.wait(self.wait_n, self.wait_timeout_ms))
            if got >= self.wait_n:
                return
            if time.monotonic() >= deadline:
                raise StoreUnavailable(f"checkpoint store: put {key} reached {got} of {self.wait_n} replicas of "
                                       f"Redis at {self.where} within {self.retry_for:g} s")

    def get(self, key: str) -> bytes:
        check_key(key)
        data = self._retry(f"get {key}", lambda: self.client.get(key))
        if data is None:
            raise KeyNotFoundError(key)
        return data

    def exists(self, key: str) -> bool:
        check_key(key)
        return bool(self._retry(f"exists {key}", lambda: self.client.exists(key)))

    def delete(self, key: str) -> None:
        check_key(key)
        self._retry(f"delete {key}", lambda: self.client.delete(key))

    def _retry(self, what: str, op):
        """Runs op, retrying connection failures with jittered backoff for
        retry_for seconds, then raising StoreUnavailable."""
        backoff = Backoff(self.retry_for)
        while True:
            try:
                return op()
            except redis.AuthenticationError as e:
                raise StoreError(f"checkpoint store: Redis at {self.where} refused the credentials of the store "
                                 f"URL: {e}") from None
            except (redis.ConnectionError, redis.TimeoutError) as e:
                if "CERTIFICATE_VERIFY_FAILED" in str(e):
                    raise StoreError(f"checkpoint store: Redis at {self.where}: TLS certificate not trusted ({e}); "
                                     f"add skip_verify=true to the URL only for testing") from None
                if not backoff.wait():
                    raise StoreUnavailable(f"checkpoint store: Redis at {self.where} unreachable for {what} "
                                           f"(retried for {self.retry_for:g} s): {e}") from None


def _parse(url: str):
    """redis.Redis keyword arguments, WAIT replicas and WAIT timeout."""
    u = urlparse(url)
    if u.scheme not in ("redis", "rediss"):
        raise ValueError(f"store URL {_redact(url)!r}: not a redis:// or rediss:// URL")
    if not u.hostname:
        raise ValueError(f"store URL {_redact(url)!r} names no host")
    kwargs = {"host": u.hostname, "port": u.port or 6379}
    if u.username:
        kwargs["username"] = unquote(u.username)
    if u.password is not None:
        kwargs["password"] = unquote(u.password)
    query = {k: v[-1] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
    db = u.path.strip("/") or query.get("db", "")
    if db:
        if not db.isdigit():
            raise ValueError(f"store URL {_redact(url)!r}: database {db!r} is not a number")
        kwargs["db"] = int(db)
    if u.scheme == "rediss":
        kwargs["ssl"] = True
        if query.get("skip_verify") in ("true", "1"):
            kwargs["ssl_cert_reqs"] = "none"
    wait_n = _int_option(url, query, "wait", 0, minimum=0)
    wait_timeout = _int_option(url, query, "wait_timeout_ms", 1000, minimum=1)
    unknown = set(query) - _GO_ONLY_OPTIONS - {"wait", "wait_timeout_ms", "skip_verify"}
    if unknown:
        raise ValueError(f"store URL {_redact(url)!r}: unknown option(s) {', '.join(sorted(unknown))}")
    return kwargs, wait_n, wait_timeout


def _int_option(url, query, name, default, minimum):
    raw = query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < minimum:
        raise ValueError(f"store URL {_redact(url)!r}: {name}={raw!r} is not a number of at least {minimum}")
    return int(raw)


def _redact(url: str) -> str:
    """The URL as it may be printed: its password replaced by ***."""
    u = urlparse(url)
    if u.password is None:
        return url
    netloc = (f"{u.username}:***@" if u.username else ":***@") + (u.hostname or "")
    if u.port:
        netloc += f":{u.port}"
    return u._replace(netloc=netloc).geturl()


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
