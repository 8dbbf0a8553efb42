"""Overhead of compiled code on six unmodified CPU-bound programs.

    cd python && python -m bench.compiler_overhead [--repeat N] [--only NAME ...]

Each program (bench/programs/) runs its main() in three ways, interleaved
round-robin, best of N:

  plain     the original module under this interpreter
  auto on   compiled, run through the Kappa boundary (run(Call(main))) with
            automatic pauses on: the worker's pacer thread is running, the
            compiled call sites test the pending flag, no pause is taken
  auto off  compiled with automatic pauses switched off: the compiler's
            switch if compile_source has one (see AUTO_OFF_OPTIONS), else
            the same code with no pacer thread (the flag is still tested)

Prints a markdown table: plain time, both ratios, geometric mean and worst
case. The target is a geomean of at most 1.15x with auto on.
"""

import argparse
import inspect
import math
import platform
import sys
import time
import types
from pathlib import Path

from kappa.compiler import CompileError, compile_source
from kappa.runtime import Call, load_program, run
from kappa.worker.pacer import Pacer

PROGRAMS = ["nbody", "richards", "fannkuch", "json_heavy", "regex_heavy", "dict_heavy"]
HERE = Path(__file__).parent / "programs"
TARGET = 1.15
# compile_source keywords that would switch automatic pauses off, if present
AUTO_OFF_OPTIONS = ("auto_pauses", "auto_pause", "automatic_pauses", "auto")


class _FarDeadline:
    """A lambda context whose deadline never comes close."""

    def get_remaining_time_in_millis(self):
        return 3_600_000


def auto_off_option():
    params = inspect.signature(compile_source).parameters
    return next((name for name in AUTO_OFF_OPTIONS if name in params), None)


def load_variants(name):
    path = HERE / f"{name}.py"
    source = path.read_text()
    plain = _plain_module(source, str(path), f"bench_plain_{name}").main
    on = load_program(compile_source(source, str(path)), module_name=f"bench_on_{name}")
    option = auto_off_option()
    off_compiled = compile_source(source, str(path), **({option: False} if option else {}))
    off = load_program(off_compiled, module_name=f"bench_off_{name}")
    return {"plain": plain,
            "auto on": lambda: _with_pacer(on.main),
            "auto off": lambda: run(Call(off.main))}


def _plain_module(source, filename, module_name):
    """The original program as a real module, the way load_program makes one."""
    module = types.ModuleType(module_name)
    module.__file__ = filename
    sys.modules[module_name] = module
    exec(compile(source, filename, "exec", dont_inherit=True), module.__dict__)
    return module


def _with_pacer(main):
    pacer = Pacer(_FarDeadline(), interval=3600.0)
    pacer.start()
    try:
        return run(Call(main))
    finally:
        pacer.stop()


def measure(name, repeat):
    variants = load_variants(name)
    best = {v: math.inf for v in variants}
    results = {}
    order = list(variants)
    for i in range(repeat):
        for v in order[i % 3:] + order[:i % 3]:    # rotate who goes first
            start = time.perf_counter()
            results[v] = variants[v]()
            best[v] = min(best[v], time.perf_counter() - start)
    if len(set(map(repr, results.values()))) != 1:
        raise SystemExit(f"{name}: variants disagree: {results}")
    return best


def geomean(xs):
    return math.exp(sum(map(math.log, xs)) / len(xs))


def table(rows):
    lines = ["| program | plain | auto on | ratio on | auto off | ratio off |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, t in rows.items():
        lines.append(f"| {name} | {t['plain']:.3f} s | {t['auto on']:.3f} s | "
                     f"{t['auto on'] / t['plain']:.3f}x | {t['auto off']:.3f} s | "
                     f"{t['auto off'] / t['plain']:.3f}x |")
    on = {n: t["auto on"] / t["plain"] for n, t in rows.items()}
    off = [t["auto off"] / t["plain"] for t in rows.values()]
    worst = max(on, key=on.get)
    lines.append(f"| **geomean** | | | **{geomean(list(on.values())):.3f}x** | | "
                 f"**{geomean(off):.3f}x** |")
    lines.append(f"| worst case | | | {on[worst]:.3f}x ({worst}) | | {max(off):.3f}x |")
    return "\n".join(lines), geomean(list(on.values()))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per variant (best of N)")
    parser.add_argument("--only", nargs="*", choices=PROGRAMS, help="a subset of the programs")
    args = parser.parse_args(argv)
    rows, rejected = {}, {}
    for name in args.only or PROGRAMS:
        try:
            rows[name] = measure(name, args.repeat)
        except CompileError as error:    # not excluded silently: listed under the table
            rejected[name] = str(error).splitlines()[0]
            print(f"  {name}: does not compile: {rejected[name]}", file=sys.stderr, flush=True)
            continue
        print(f"  {name}: " + ", ".join(f"{v} {t:.3f} s" for v, t in rows[name].items()),
              file=sys.stderr, flush=True)
    text, mean = table(rows)
    option = auto_off_option()
    print(f"Python {platform.python_version()} on {platform.machine()}, best of {args.repeat}, "
          f"interleaved; auto off: "
          f"{f'compile option {option}=False' if option else 'no compiler switch yet (same code, no pacer thread)'}\n")
    print(text)
    for name, error in rejected.items():
        print(f"\n{name}: not measured, the compiler rejects it: {error}")
    print(f"\ntarget geomean (auto on) <= {TARGET}x: {'met' if mean <= TARGET else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
