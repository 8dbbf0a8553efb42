"""Module-level mutable state with `global`: counters and configuration
rebound by functions, a plugin registry filled by a decorator at import
time, and a global cache swapped out wholesale; all of it must survive
checkpoints."""

import kappa

TICKS = 0
CONFIG = {"mode": "fast", "limit": 3}
HISTORY = []
CACHE = {}
PLUGINS = {}
LAST_RESULT = None


def plugin(name):
    def register(fn):
        PLUGINS[name] = fn
        return fn
    return register


@plugin("double")
def double(x):
    return 2 * x


@plugin("square")
def square(x):
    return x * x


def tick():
    global TICKS
    kappa.checkpoint()
    TICKS += 1
    return TICKS


def configure(mode, limit):
    global CONFIG, CACHE
    kappa.checkpoint()
    CONFIG = {"mode": mode, "limit": limit}
    CACHE = {}


def apply(name, x):
    global LAST_RESULT
    key = (name, x)
    if key not in CACHE:
        tick()
        CACHE[key] = PLUGINS[name](x)
    LAST_RESULT = CACHE[key]
    HISTORY.append(LAST_RESULT)
    return LAST_RESULT


def main():
    for x in range(6):
        apply("double", x % 4)
        apply("square", x % 3)
    print("ticks:", TICKS, "cache:", len(CACHE), "last:", LAST_RESULT)
    configure("slow", 5)
    for x in range(CONFIG["limit"]):
        apply("square", x)
        apply("double", x)
    print("ticks:", TICKS, "config:", CONFIG, "cache:", sorted(CACHE))
    print("history:", HISTORY)
    return TICKS, sorted(PLUGINS)
