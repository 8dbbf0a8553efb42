"""Restate's side of bench-peers: a single-node `restate-server` (its
default durable settings: RocksDB write-ahead log fsynced) and a Python SDK
service served by hypercorn in this process.

The work is the same as the other peers': a chain of durable steps, each a
`ctx.run` (its result journaled by the server before the handler goes on)
taking and returning the state, timed as the gap between consecutive
starts of a step as the service sees them; and a fan-out of N calls to
another handler, gathered.
"""

import asyncio
import itertools
import json
import os
import subprocess
import tempfile
import time
import urllib.request

import restate
from hypercorn.asyncio import serve
from hypercorn.config import Config
from peers_children import emit, free_port, percentile, stop_process

STARTS = []

chain = restate.Service("Chain")
fan = restate.Service("FanOut")


@chain.handler()
async def run(ctx: restate.Context, args: list) -> int:
    steps, size = args
    state = bytes(size)

    def step(s):
        STARTS.append(time.perf_counter())
        return s[:-1] + bytes([(s[-1] + 1) % 256])

    for _ in range(steps):
        state = await ctx.run_typed("step", step, restate.RunOptions(serde=restate.serde.BytesSerde()), state)
    return len(state)


@fan.handler()
async def one(ctx: restate.Context, i: int) -> int:
    return i


@fan.handler()
async def spread(ctx: restate.Context, n: int) -> int:
    calls = [ctx.service_call(one, arg=i) for i in range(n)]
    return sum([await c for c in calls])


class Server:
    """`restate-server` on its own base directory and loopback ports."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="kappa-restate-")
        self.ingress, self.admin = free_port(), free_port()
        env = dict(os.environ, RESTATE_BASE_DIR=self.dir, RESTATE_INGRESS__BIND_ADDRESS=f"127.0.0.1:{self.ingress}",
                   RESTATE_ADMIN__BIND_ADDRESS=f"127.0.0.1:{self.admin}", RESTATE_LOG_FILTER="error",
                   RESTATE_DISABLE_TELEMETRY="true")
        cmd = [os.path.join(os.environ["KAPPA_PEERS"], "bin", "restate-server"), "--no-logo", "--listen-mode", "tcp",
               "--bind-ip", "127.0.0.1", "--bind-port", str(free_port())]
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def request(self, port, path, body=None, timeout=600):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data,
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read() or b"null")

    def wait_up(self):
        deadline = time.time() + 60
        while True:
            try:
                self.request(self.admin, "/health", timeout=2)
                return
            except Exception:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise
                time.sleep(0.3)

    def register(self, uri):
        deadline = time.time() + 60
        while True:
            try:
                return self.request(self.admin, "/deployments", {"uri": uri, "force": True}, timeout=30)
            except Exception:
                if time.time() > deadline:
                    raise
                time.sleep(0.3)

    def stop(self):
        stop_process(self.proc)


async def invoke(path, arg):
    server = Server()
    port = free_port()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.loglevel = "ERROR"
    stop = asyncio.Event()
    service = asyncio.create_task(serve(restate.app(services=[chain, fan]), config, shutdown_trigger=stop.wait))
    try:
        await asyncio.to_thread(server.wait_up)
        await asyncio.to_thread(server.register, f"http://127.0.0.1:{port}")
        t = time.perf_counter()
        result = await asyncio.to_thread(server.request, server.ingress, path, arg)
        return result, time.perf_counter() - t
    finally:
        stop.set()
        await service
        server.stop()


def fanout(n):
    result, seconds = asyncio.run(invoke("/FanOut/spread", n))
    assert result == n * (n - 1) // 2, result
    emit(seconds=seconds)


def steps(n, size):
    result, _ = asyncio.run(invoke("/Chain/run", [n, size]))
    assert result == size, result
    per_step = [b - a for a, b in itertools.pairwise(STARTS)]
    emit(p50=percentile(per_step, 50), p99=percentile(per_step, 99))
