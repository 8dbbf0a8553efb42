"""Checkpoint state: one pickle of the frames, the program's globals (and
the data attributes of its classes), the `random` state and the pause
request, so aliasing survives (a list and an iterator over it stay one
list; two closures keep sharing their cell)."""

import enum
import io
import pickle
import random
import sys
import types

from .reducers import reducer_override
from .run import StateError

PROTOCOL = 5
_FORMAT = "kappa-state-2"
_RUNTIME_NAMES = ("__kappa__",)


class _Pickler(pickle.Pickler):
    reducer_override = staticmethod(reducer_override)


def _dumps(value):
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=PROTOCOL).dump(value)
    return buffer.getvalue()


class UnpicklableError(Exception):
    """A live value cannot be saved; the message names it."""


def program_globals(module):
    """The globals a re-import would not re-create: everything but modules,
    the program's own classes and plain functions, dunders and runtime
    names. (A closure bound at module level, e.g. a decorated function, is
    kept: its cells are state.)"""
    own = module.__name__
    out = {}
    for name, value in module.__dict__.items():
        if name.startswith("__") and name.endswith("__") or name.startswith("__k_"):
            continue
        if name in _RUNTIME_NAMES or isinstance(value, types.ModuleType):
            continue
        if isinstance(value, type) and value.__module__ == own:
            continue
        if (isinstance(value, types.FunctionType) and value.__module__ == own and value.__closure__ is None
                and "<locals>" not in value.__qualname__):
            continue
        out[name] = value
    return out


def class_attributes(module):
    """{class qualname: {attribute: value}}: the data attributes of the
    program's classes (class-level counters and registries are state)."""
    own = module.__name__
    out = {}
    todo = [v for v in module.__dict__.values() if isinstance(v, type) and v.__module__ == own]
    seen = set()
    while todo:
        cls = todo.pop()
        if id(cls) in seen or "<locals>" in cls.__qualname__ or isinstance(cls, enum.EnumMeta):
            continue
        seen.add(id(cls))
        attrs = {}
        for name, value in vars(cls).items():
            if isinstance(value, type):
                if value.__module__ == own:
                    todo.append(value)
                continue
            if not (name.startswith("__") and name.endswith("__")) and not _is_code_like(value):
                attrs[name] = value
        if attrs:
            out[cls.__qualname__] = attrs
    return out


def _is_code_like(value):
    return isinstance(value, (types.FunctionType, staticmethod, classmethod, property, types.ModuleType,
                              types.BuiltinFunctionType, types.MethodType)) or (
        hasattr(value, "__get__") and not hasattr(value, "__dict__") and type(value).__module__ != "builtins")


def _restore_classes(module, attributes):
    for qualname, attrs in attributes.items():
        cls = module
        for part in qualname.split("."):
            cls = getattr(cls, part, None)
        if isinstance(cls, type):
            for name, value in attrs.items():
                setattr(cls, name, value)


def dump_state(frames, module, request):
    """Serialize a captured stack (bytes)."""
    payload = {
        "format": _FORMAT,
        "program": module.__dict__.get("__k_fingerprint"),
        "frames": list(frames),
        "globals": program_globals(module),
        "classes": class_attributes(module),
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
    _restore_classes(module, payload["classes"])
    random.setstate(payload["random"])
    return payload["frames"], payload["request"]


def _culprit(payload, module, error):
    """Find the first value that does not pickle alone, and describe it."""
    registry = module.__dict__.get("__k_pp", {})
    for frame in payload["frames"]:
        for name, value in list(frame.vars.items()) + _cell_values(frame):
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
    for cls, attrs in payload["classes"].items():
        for name, value in attrs.items():
            reason = _fails(value)
            if reason:
                return (f"cannot checkpoint: class attribute '{cls}.{name}' of type {_type_name(value)} "
                        f"is not picklable: {reason}")
    reason = _fails(payload["request"])
    if reason:
        return f"cannot checkpoint: the pause request {payload['request']!r} is not picklable: {reason}"
    return f"cannot checkpoint: {type(error).__name__}: {error}"


def _cell_values(frame):
    out = []
    for name, cell in frame.cells.items():
        try:
            out.append((name, cell.cell_contents))
        except ValueError:   # empty
            pass
    return out


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
