"""One peer's run, in a process of its own (bench_peers.py starts it):

    python peers_children.py KIND ARGS...

prints one JSON object as its last line. Kinds: mp-fanout N, ray-fanout N,
lithops-fanout N, temporal-fanout N, fsync-steps STEPS SIZE,
temporal-steps STEPS SIZE activity|activity-tuned|local.
"""

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta


def percentile(xs, q):
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))] if s else 0.0


def one(i):
    return i


def emit(**kw):
    print(json.dumps(kw), flush=True)


def mp_fanout(n):
    import multiprocessing

    t = time.perf_counter()
    with multiprocessing.Pool(2) as pool:
        total = sum(pool.map(one, range(int(n)), chunksize=1))
    assert total == int(n) * (int(n) - 1) // 2
    emit(seconds=time.perf_counter() - t)


def ray_fanout(n):
    import ray

    t = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    remote_one = ray.remote(one)
    ray.get(remote_one.remote(0))  # the first task starts the workers: part of the start
    start = time.perf_counter() - t
    t = time.perf_counter()
    total = sum(ray.get([remote_one.remote(i) for i in range(int(n))]))
    seconds = time.perf_counter() - t
    assert total == int(n) * (int(n) - 1) // 2
    ray.shutdown()
    emit(seconds=seconds, start=start)


def lithops_fanout(n):
    import lithops

    t = time.perf_counter()
    fexec = lithops.LocalhostExecutor(log_level=None)
    total = sum(fexec.get_result(fexec.map(one, range(int(n)))))
    assert total == int(n) * (int(n) - 1) // 2
    fexec.clean()
    emit(seconds=time.perf_counter() - t)


def fsync_steps(steps, size):
    """The floor of a durable step: write the state to a file and fsync it."""
    state = bytearray(int(size))
    times = []
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "state")
        for i in range(int(steps)):
            t = time.perf_counter()
            state[i % len(state)] = (state[i % len(state)] + 1) % 256
            with open(path, "wb") as f:
                f.write(state)
                f.flush()
                os.fsync(f.fileno())
            times.append(time.perf_counter() - t)
    emit(p50=percentile(times, 50), p99=percentile(times, 99))


# --- Temporal --------------------------------------------------------------

# Dynamic config for the "tuned" server: see docs/benchmarks.md ("Why
# Temporal takes ~100 ms a step") for what each does and what it bought.
TEMPORAL_TUNED = [
    "matching.numTaskqueueReadPartitions=1",
    "matching.numTaskqueueWritePartitions=1",
    "system.enableActivityEagerExecution=true",
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TemporalServer:
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
        from temporalio.client import Client

        deadline = time.time() + 60
        while True:
            try:
                return await Client.connect(f"127.0.0.1:{self.port}")
            except Exception:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise
                await asyncio.sleep(0.3)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def temporal_defs():
    """Workflow and activity definitions (imported lazily: the SDK is the peers' venv's)."""
    from temporalio import activity, workflow

    starts = []

    @activity.defn(name="one")
    async def one_activity(i: int) -> int:
        return i

    @activity.defn(name="step")
    async def step(state: bytes) -> bytes:
        starts.append(time.perf_counter())
        return state[:-1] + bytes([(state[-1] + 1) % 256])

    @workflow.defn(name="FanOut", sandboxed=False)
    class FanOut:
        @workflow.run
        async def run(self, n: int) -> int:
            calls = [workflow.execute_activity(one_activity, i, start_to_close_timeout=timedelta(seconds=60))
                     for i in range(n)]
            return sum(await asyncio.gather(*calls))

    @workflow.defn(name="Chain", sandboxed=False)
    class Chain:
        @workflow.run
        async def run(self, args: list) -> int:
            steps, size, local = args
            state = bytes(size)
            for _ in range(steps):
                if local:
                    state = await workflow.execute_local_activity(step, state,
                                                                  start_to_close_timeout=timedelta(seconds=60))
                else:
                    state = await workflow.execute_activity(step, state, start_to_close_timeout=timedelta(seconds=60))
            return len(state)

    return starts, [one_activity, step], [FanOut, Chain]


async def temporal_run(workflow_name, arg, dynamic=()):
    from temporalio.worker import Worker

    starts, activities, workflows = temporal_defs()
    server = TemporalServer(dynamic)
    try:
        client = await server.client()
        async with Worker(client, task_queue="bench", workflows=workflows, activities=activities,
                          max_concurrent_activities=200):
            t = time.perf_counter()
            result = await client.execute_workflow(workflow_name, arg, id=f"bench-{time.time_ns()}",
                                                   task_queue="bench")
            return result, time.perf_counter() - t, starts
    finally:
        server.stop()


def temporal_fanout(n):
    result, seconds, _ = asyncio.run(temporal_run("FanOut", int(n)))
    assert result == int(n) * (int(n) - 1) // 2
    emit(seconds=seconds)


def temporal_steps(steps, size, variant):
    dynamic = TEMPORAL_TUNED if variant == "activity-tuned" else ()
    result, _, starts = asyncio.run(temporal_run("Chain", [int(steps), int(size), variant == "local"], dynamic))
    assert result == int(size)
    per_step = [b - a for a, b in zip(starts, starts[1:])]
    emit(p50=percentile(per_step, 50), p99=percentile(per_step, 99),
         note="tuned: " + ", ".join(dynamic) if dynamic else "")


CHILDREN = {"mp-fanout": mp_fanout, "ray-fanout": ray_fanout, "lithops-fanout": lithops_fanout,
            "temporal-fanout": temporal_fanout, "fsync-steps": fsync_steps, "temporal-steps": temporal_steps}

if __name__ == "__main__":
    CHILDREN[sys.argv[1]](*sys.argv[2:])
