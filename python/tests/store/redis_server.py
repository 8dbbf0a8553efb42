"""A real redis-server for tests: started on a free port in a temp dir,
killed afterwards. Tests that need one are skipped when redis-server is
not installed (CI installs it)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time

import pytest

BINARY = shutil.which("redis-server")

needs_redis = pytest.mark.skipif(BINARY is None, reason="redis-server is not installed (apt-get install redis-server)")

DURABLE = ("--appendonly", "yes", "--appendfsync", "always")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self, directory, *args: str, port: int | None = None, tls: tuple | None = None):
        self.port = port or free_port()
        self.dir = str(directory)
        os.makedirs(self.dir, exist_ok=True)
        cmd = [BINARY, "--bind", "127.0.0.1", "--dir", self.dir, "--save", "", *args]
        if tls:
            cert, key = tls
            cmd += ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", cert, "--tls-key-file", key,
                    "--tls-auth-clients", "no"]
        else:
            cmd += ["--port", str(self.port)]
        self.log = open(os.path.join(self.dir, "redis.log"), "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_listening()

    def _wait_listening(self, limit: float = 10.0) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited: {open(self.log.name).read()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"redis-server does not listen on {self.port}")

    def url(self, scheme: str = "redis", auth: str = "", path: str = "", query: str = "") -> str:
        return f"{scheme}://{auth}127.0.0.1:{self.port}{path}{query}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture
def redis_server(tmp_path):
    """Start servers with redis_server(*args, directory=, port=, tls=);
    all are killed afterwards."""
    servers = []

    def start(*args, directory=None, **kwargs):
        s = RedisServer(directory or tmp_path / f"redis{len(servers)}", *args, **kwargs)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()
