"""Checkpoint state: one pickle of the frames, the program's globals, the
`random` state and the pause request, so aliasing survives (a list and an
iterator over it stay one list)."""

import copyreg
import importlib
import io
import pickle
import random
import sys
import types

from .run import StateError

PROTOCOL = 5
_FORMAT = "kappa-state-1"
_RUNTIME_NAMES = ("__kappa__",)


def _module_by_name(module):
    # A module (e.g. `import json` inside a function, live across a pause) is
    # saved as its name and imported again on load.
    return importlib.import_module, (module.__name__,)


_DISPATCH = copyreg.dispatch_table.copy()
_DISPATCH[types.ModuleType] = _module_by_name


def _dumps(value):
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=PROTOCOL)
    pickler.dispatch_table = _DISPATCH
    pickler.dump(value)
    return buffer.getvalue()


class UnpicklableError(Exception):
    """A live value cannot be saved; the message names it."""


def program_globals(module):
    """The globals a re-import would not re-create: everything but modules,
    the program's own functions and classes, dunders and runtime names."""
    own = module.__name__
    out = {}
    for name, value in module.__dict__.items():
        if name.startswith("__") and name.endswith("__") or name.startswith("__k_"):
            continue
        if name in _RUNTIME_NAMES or isinstance(value, types.ModuleType):
            continue
        if isinstance(value, (types.FunctionType, type)) and getattr(value, "__module__", None) == own:
            continue
        out[name] = value
    return out


def dump_state(frames, module, request):
    """Serialize a captured stack (bytes)."""
    payload = {
        "format": _FORMAT,
        "program": module.__dict__.get("__k_fingerprint"),
        "frames": list(frames),
        "globals": program_globals(module),
        "random": random.getstate(),
        "request": request,
    }
    try:
        return _dumps(payload)
    except Exception as error:  # noqa: BLE001 - any pickling failure
        raise UnpicklableError(_culprit(payload, module, error)) from error


def load_state(data, module):
    """Put a saved state into a freshly loaded program module; return
    (frames, request). Restores the globals and the `random` state."""
    sys.modules[module.__name__] = module   # pickle resolves program objects here
    try:
        payload = pickle.loads(data)
    except Exception as error:  # noqa: BLE001
        raise StateError(f"cannot read checkpoint: {type(error).__name__}: {error}") from error
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise StateError("cannot read checkpoint: not a Kappa state")
    expected = module.__dict__.get("__k_fingerprint")
    if payload["program"] != expected:
        raise StateError("checkpoint was taken from a different program (or compiler version)")
    module.__dict__.update(payload["globals"])
    random.setstate(payload["random"])
    return payload["frames"], payload["request"]


def _culprit(payload, module, error):
    """Find the first value that does not pickle alone, and describe it."""
    registry = module.__dict__.get("__k_pp", {})
    for frame in payload["frames"]:
        for name, value in frame.vars.items():
            reason = _fails(value)
            if reason:
                pp = registry.get(frame.pp_id)
                where = (f"in function '{pp.function}' at {module.__file__}:{pp.line}"
                         if pp is not None else f"at pause point {frame.pp_id}")
                return (f"cannot checkpoint: variable {_describe(name)} of type "
                        f"{_type_name(value)} {where} is not picklable: {reason}")
    for name, value in payload["globals"].items():
        reason = _fails(value)
        if reason:
            return (f"cannot checkpoint: global '{name}' of type {_type_name(value)} "
                    f"is not picklable: {reason}")
    reason = _fails(payload["request"])
    if reason:
        return f"cannot checkpoint: the pause request {payload['request']!r} is not picklable: {reason}"
    return f"cannot checkpoint: {type(error).__name__}: {error}"


def _fails(value):
    try:
        _dumps(value)
    except Exception as error:  # noqa: BLE001
        return f"{type(error).__name__}: {error}".splitlines()[0]
    return None


def _describe(name):
    from kappa.compiler.astutil import describe_temp
    meaning = describe_temp(name)
    return f"'{name}' ({meaning})" if meaning else f"'{name}'"


def _type_name(value):
    t = type(value)
    return t.__name__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"
