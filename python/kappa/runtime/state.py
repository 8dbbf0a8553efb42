"""Checkpoint state: one pickle of the frames, the program's own state
(globals, class attributes, function defaults and attributes of the entry
module and of each of the program's other modules: see programstate.py),
the `random` state and the pause request, so aliasing
survives (a list and an iterator over it stay one list; two closures keep
sharing their cell)."""

import io
import pickle
import random
import sys

from .programstate import capture_program, describe_key, own_modules, program_globals, restore_program, unsaveable  # noqa: F401
from .reducers import reducer_override
from .run import StateError

PROTOCOL = 5
_FORMAT = "kappa-state-3"


class _Pickler(pickle.Pickler):
    reducer_override = staticmethod(reducer_override)


def _dumps(value):
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=PROTOCOL).dump(value)
    return buffer.getvalue()


class UnpicklableError(Exception):
    """A live value cannot be saved; the message names it."""


def dump_state(frames, module, request):
    """Serialize a captured stack (bytes)."""
    payload = {
        "format": _FORMAT,
        "fingerprint": module.__dict__.get("__k_fingerprint"),
        "frames": list(frames),
        "program": _capture_all(module),
        "random": random.getstate(),
        "request": request,
    }
    try:
        return _dumps(payload)
    except Exception as error:  # noqa: BLE001 - any pickling failure
        failure = error
    dropped = [unsaveable(m, state, _fails) for m, state, _ in _states(module, payload["program"])]
    if any(dropped):   # left to the re-import: try again without
        try:
            return _dumps(payload)
        except Exception as error:  # noqa: BLE001
            failure = error
    raise UnpicklableError(_culprit(payload, module, failure)) from failure


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
    if payload["fingerprint"] != expected:
        raise StateError("checkpoint was taken from a different program (or compiler version)")
    _restore_all(module, payload["program"])
    random.setstate(payload["random"])
    return payload["frames"], payload["request"]


def _capture_all(entry):
    return {"entry": capture_program(entry),
            "modules": {name: capture_program(m) for name, m in sorted(own_modules(entry).items())}}


def _states(entry, program):
    """(module, its saved state, its name or None for the entry)."""
    joined = own_modules(entry)
    out = [(entry, program["entry"], None)]
    return out + [(joined[name], state, name) for name, state in program["modules"].items()]


def _restore_all(entry, program):
    joined = own_modules(entry)
    restore_program(entry, program["entry"])
    for name, state in program["modules"].items():
        if name not in joined:
            raise StateError(f"cannot restore: the checkpoint holds the state of the program's module "
                             f"'{name}', which was not imported before resuming")
        restore_program(joined[name], state)


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
    for where, value in _program_values(module, payload["program"]):
        reason = _fails(value)
        if reason:
            return f"cannot checkpoint: {where} of type {_type_name(value)} is not picklable: {reason}"
    reason = _fails(payload["request"])
    if reason:
        return f"cannot checkpoint: the pause request {payload['request']!r} is not picklable: {reason}"
    return f"cannot checkpoint: {type(error).__name__}: {error}"


def _program_values(entry, program):
    for _, state, module_name in _states(entry, program):
        of = f" of module '{module_name}'" if module_name else ""
        for name, value in state["globals"].items():
            yield f"global '{name}'{of}", value
        for owner, attrs in list(state["classes"].items()) + list(state["functions"].items()):
            for key, value in attrs.items():
                yield describe_key(owner, key) + of, value


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
    from kappa.compiler.names import describe_temp
    meaning = describe_temp(name)
    return f"'{name}' ({meaning})" if meaning else f"'{name}'"


def _type_name(value):
    t = type(value)
    return t.__name__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"
