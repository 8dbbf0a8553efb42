"""Checkpoint time and size against the size of the live state.

    cd python && python -m bench.checkpoint_cost [--repeat N]

A compiled function holds one live value (a list of records: int, 40-char
str, float) sized so that pickling it alone takes 1 KB ... 10 MB, and
checkpoints. Measured, best of N:

  capture   run() until the Capture escapes (the stack is recorded)
  dump      dump_state: the pickle of frames, globals and random state
  load      load_state into a freshly loaded program module
  cycle     the whole round trip: capture, dump, load_program, load_state,
            and run(Resume) to the end of the (trivial) rest of the program

Prints a markdown table with the checkpoint size against the live size.
"""

import argparse
import pickle
import sys
import time

from kappa.compiler import compile_source
from kappa.runtime import Call, Capture, Resume, load_program, run
from kappa.runtime.state import dump_state, load_state

PROGRAM = '''
import kappa


def hold(data):
    kappa.checkpoint()
    return len(data)
'''

SIZES = [1_000, 10_000, 100_000, 1_000_000, 10_000_000]


def live_value(target):
    """A list of records whose pickle is about `target` bytes."""
    def make(n):
        return [(i, f"record-{i:08d}-" + "x" * 24, i * 0.5) for i in range(n)]
    per_record = len(pickle.dumps(make(1000), protocol=5)) / 1000
    value = make(max(1, round(target / per_record)))
    return value, len(pickle.dumps(value, protocol=5))


def capture(module, data):
    try:
        run(Call(module.hold, (data,)))
    except Capture as c:
        frames, request = c.frames, c.request
        del c
        return frames, request
    raise RuntimeError("no checkpoint was taken")


def best(fn, repeat):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def measure(compiled, target, repeat):
    data, live = live_value(target)
    module = load_program(compiled, module_name="bench_ckpt")
    t_capture, (frames, request) = best(lambda: capture(module, data), repeat)
    t_dump, blob = best(lambda: dump_state(frames, module, request), repeat)

    def load():
        fresh = load_program(compiled, module_name="bench_ckpt")
        return fresh, load_state(blob, fresh)
    fresh, (loaded, _) = load()
    t_load, _ = best(lambda: load_state(blob, fresh), repeat)

    def cycle():
        frames, request = capture(module, data)
        state = dump_state(frames, module, request)
        again = load_program(compiled, module_name="bench_ckpt")
        restored, _ = load_state(state, again)
        return run(Resume(restored, None, module=again))
    t_cycle, result = best(cycle, repeat)
    assert result == len(data)
    return {"target": target, "live": live, "checkpoint": len(blob), "capture": t_capture,
            "dump": t_dump, "load": t_load, "cycle": t_cycle}


def _ms(seconds):
    return f"{seconds * 1000:.3f} ms" if seconds < 0.01 else f"{seconds * 1000:.1f} ms"


def _bytes(n):
    for unit, size in (("MB", 1_000_000), ("KB", 1_000)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    compiled = compile_source(PROGRAM, "bench_ckpt.py")
    print("| live state | checkpoint size | size / live | capture | dump_state | load_state | "
          "full cycle | dump MB/s |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for target in SIZES:
        r = measure(compiled, target, args.repeat if target < 5_000_000 else max(1, args.repeat // 2))
        print(f"| {_bytes(r['live'])} | {_bytes(r['checkpoint'])} | {r['checkpoint'] / r['live']:.2f} | "
              f"{_ms(r['capture'])} | {_ms(r['dump'])} | {_ms(r['load'])} | {_ms(r['cycle'])} | "
              f"{r['checkpoint'] / r['dump'] / 1e6:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
