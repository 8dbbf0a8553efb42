"""The Kappa API as the compiler sees it: which names pause.

One place for these lists so that the compiler, the runtime and the worker
agree. A call to one of PAUSING_FUNCTIONS (imported from an API module, or
called as `kappa.X`) is a pause point; so is a method call whose attribute is
one of PAUSING_METHODS (`future.wait()`, `queue.enqueue(x)`).
"""

# Functions that may capture the stack (checkpoint, or an RPC made after a
# checkpoint).
PAUSING_FUNCTIONS = frozenset({
    "checkpoint",
    "pause",
    "spawn",
    "spawn_many",
    "map_spawn",
    "wait",
    "create_queue",
    "create_queues",
    "call_external",
})

# Methods of API objects (Future, Queue) that may capture the stack.
PAUSING_METHODS = frozenset({"wait", "enqueue", "dequeue"})

# Top-level packages whose members form the API: `from kappa import spawn`,
# `import rt`, `from kappa.runtime import checkpoint`.
API_PACKAGES = ("kappa", "rt")


def is_api_module(dotted):
    """True for `kappa`, `rt` and their submodules."""
    root = dotted.split(".", 1)[0]
    return root in API_PACKAGES
