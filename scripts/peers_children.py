"""One peer's run, in a process of its own (bench_peers.py starts it):

    python peers_children.py KIND ARGS...

prints one JSON object as its last line. Kinds: mp-fanout N, ray-fanout N,
lithops-fanout N, temporal-fanout N, fsync-steps STEPS SIZE,
temporal-steps STEPS SIZE activity|activity-tuned|local, restate-fanout N,
restate-steps STEPS SIZE.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time


def percentile(xs, q):
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))] if s else 0.0


def one(i):
    return i


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc):
    """Terminates a peer's server, killing it if it lingers."""
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


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


def temporal_fanout(n):
    import peers_temporal

    peers_temporal.fanout(int(n))


def temporal_steps(steps, size, variant):
    import peers_temporal

    peers_temporal.steps(int(steps), int(size), variant)


def restate_fanout(n):
    import peers_restate

    peers_restate.fanout(int(n))


def restate_steps(steps, size):
    import peers_restate

    peers_restate.steps(int(steps), int(size))


CHILDREN = {"mp-fanout": mp_fanout, "ray-fanout": ray_fanout, "lithops-fanout": lithops_fanout,
            "temporal-fanout": temporal_fanout, "fsync-steps": fsync_steps, "temporal-steps": temporal_steps,
            "restate-fanout": restate_fanout, "restate-steps": restate_steps}

if __name__ == "__main__":
    CHILDREN[sys.argv[1]](*sys.argv[2:])
