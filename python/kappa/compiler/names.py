"""The names the compiler generates, and the reserved ones users may not take.

Every generated name starts with PREFIX and ends with "__", so that CPython's
private name mangling leaves it alone inside classes.
"""

import ast
from collections.abc import Collection

# The runtime module injected into the program's globals.
RUNTIME = "__kappa__"
# Prefix of every name the compiler generates; user names may not use it.
PREFIX = "__k_"


def generated(stem: str) -> str:
    return f"{PREFIX}{stem}__"


REGISTRY = PREFIX + "pp"        # module global: pause-point id -> PausePoint
PENDING = generated("pending")  # module global: copy of the runtime's pending flag
CAPTURE_VAR = generated("cap")   # `except Capture as __k_cap__`
VARS_PARAM = generated("vars")   # continuation parameters
VALUE_PARAM = generated("value")
EXC_PARAM = generated("exc")
SENT_VAR = generated("sent")     # what a resumed generator was sent
SUB_VAR = generated("sub")       # the iterator a resumed `yield from` delegates to
CELLS_VAR = generated("cells")   # a generator's closure cells, for pickling it
RETURN_VAR = generated("rv")     # a return value held while a finally block runs
ONCE_VAR = generated("once")     # single-iteration loop of a partial iteration
CONTINUATION_PARAMS = frozenset({VARS_PARAM, VALUE_PARAM, EXC_PARAM, SENT_VAR})


def is_reserved(name: str) -> bool:
    return name == RUNTIME or name.startswith(PREFIX)


def iterator_name(for_node: ast.For, taken: Collection[str] = ()) -> str:
    """Name of the iterator of a for loop; the line makes it self-describing
    (`x<n>` tells apart several loops on one line)."""
    name, n = generated(f"it{for_node.lineno}"), 1
    while name in taken:
        n += 1
        name = generated(f"it{for_node.lineno}x{n}")
    return name


def describe_temp(name: str) -> str | None:
    """What a generated name means, for error messages about live values."""
    if not name.startswith(PREFIX):
        return None
    rest = name[len(PREFIX):].removesuffix("__")
    line = rest[2:].split("x")[0]
    if rest.startswith("it") and line.isdigit():
        return f"the iterator of the for loop at line {line}"
    for prefix, meaning in (("else", "the else-flag of a while loop"),
                            ("mgr", "the context manager of a with statement"),
                            ("exit", "the __exit__ method of a with statement"),
                            ("w", "the state of a try/with block"),
                            ("h", "the exception being handled"),
                            ("sub", "the iterator of a `yield from`")):
        if rest.startswith(prefix) and rest[len(prefix):].isdigit():
            return meaning
    return "a temporary value of the expression"


class Temps:
    """Fresh temporary names for one function."""

    def __init__(self) -> None:
        self._n = 0

    def new(self, kind: str = "t") -> str:
        self._n += 1
        return generated(f"{kind}{self._n}")
