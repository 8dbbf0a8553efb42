"""Temporal's side of bench-peers: its dev server (`temporal server
start-dev`, file-backed SQLite) and a Python SDK worker in this process.

Per-step time is the gap between consecutive starts of the step activity,
as the worker sees them: one round of workflow task → schedule activity →
run it → record its completion → next workflow task.
"""

import asyncio
import itertools
import os
import subprocess
import tempfile
import time
from datetime import timedelta

from peers_children import emit, free_port, percentile, stop_process
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

# Dynamic config for the "tuned" server: the SDK asks for eager activity
# dispatch (the activity comes back in the reply to the workflow task that
# scheduled it) but the server grants it only with this set. See
# docs/benchmarks.md ("Why Temporal takes 100 ms a step").
TUNED = ["system.enableActivityEagerExecution=true"]

STARTS = []


@activity.defn(name="one")
async def one(i: int) -> int:
    return i


@activity.defn(name="step")
async def step(state: bytes) -> bytes:
    STARTS.append(time.perf_counter())
    return state[:-1] + bytes([(state[-1] + 1) % 256])


@workflow.defn(name="FanOut", sandboxed=False)
class FanOut:
    @workflow.run
    async def run(self, n: int) -> int:
        calls = [workflow.execute_activity(one, i, start_to_close_timeout=timedelta(seconds=120)) for i in range(n)]
        return sum(await asyncio.gather(*calls))


@workflow.defn(name="Chain", sandboxed=False)
class Chain:
    @workflow.run
    async def run(self, args: list) -> int:
        steps, size, local = args
        state = bytes(size)
        for _ in range(steps):
            if local:
                state = await workflow.execute_local_activity(step, state, start_to_close_timeout=timedelta(seconds=60))
            else:
                state = await workflow.execute_activity(step, state, start_to_close_timeout=timedelta(seconds=60))
        return len(state)


class Server:
    """`temporal server start-dev` on a file-backed SQLite database."""

    def __init__(self, dynamic=()):
        self.dir = tempfile.mkdtemp(prefix="kappa-temporal-")
        self.port = free_port()
        cmd = [os.path.join(os.environ["KAPPA_PEERS"], "bin", "temporal"), "server", "start-dev", "--headless",
               "--db-filename", os.path.join(self.dir, "temporal.db"), "--port", str(self.port),
               "--http-port", str(free_port()), "--metrics-port", str(free_port()), "--log-level", "error"]
        for kv in dynamic:
            cmd += ["--dynamic-config-value", kv]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    async def client(self):
        deadline = time.time() + 60
        while True:
            try:
                return await Client.connect(f"127.0.0.1:{self.port}")
            except Exception:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise
                await asyncio.sleep(0.3)

    def stop(self):
        stop_process(self.proc)


async def run(workflow_name, arg, dynamic=()):
    server = Server(dynamic)
    try:
        client = await server.client()
        async with Worker(client, task_queue="bench", workflows=[FanOut, Chain], activities=[one, step],
                          max_concurrent_activities=200):
            t = time.perf_counter()
            result = await client.execute_workflow(workflow_name, arg, id=f"bench-{time.time_ns()}",
                                                   task_queue="bench")
            return result, time.perf_counter() - t
    finally:
        server.stop()


def fanout(n):
    result, seconds = asyncio.run(run("FanOut", n))
    assert result == n * (n - 1) // 2
    emit(seconds=seconds)


def steps(n, size, variant):
    dynamic = TUNED if variant == "activity-tuned" else ()
    result, _ = asyncio.run(run("Chain", [n, size, variant == "local"], dynamic))
    assert result == size
    per_step = [b - a for a, b in itertools.pairwise(STARTS)]
    emit(p50=percentile(per_step, 50), p99=percentile(per_step, 99),
         note="tuned: " + ", ".join(dynamic) if dynamic else "")
