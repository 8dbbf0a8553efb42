"""run(start): the one entry through which the worker and the driver run a task.

`Call(fn, args, kwargs)` starts a function; `Resume(frames, value, exc)`
calls the continuation of frames[0] with the outcome of the pausing call,
passes what it returns (or raises) to frames[1]'s continuation, and so on
outward. A Capture escaping run carries the complete frame list, checked:
every frame between the boundary and the pausing runtime call must have
recorded itself, else a frame would be lost and the pause is a PauseError.
"""

import inspect
import linecache

from . import core
from .core import Capture

_GENERATOR = inspect.CO_GENERATOR


class PauseError(Exception):
    """A pause that cannot be captured (an implicit call, module level...)."""


class StateError(Exception):
    """A checkpoint that does not fit the loaded program."""


class Call:
    __slots__ = ("fn", "args", "kwargs")

    def __init__(self, fn, args=(), kwargs=None):
        self.fn = fn
        self.args = tuple(args)
        self.kwargs = dict(kwargs or {})

    def __repr__(self):
        return f"Call({getattr(self.fn, '__qualname__', self.fn)!r}, {self.args!r}, {self.kwargs!r})"


class Resume:
    """Resume captured frames. `module` defaults to the program module most
    recently loaded by load_program."""

    __slots__ = ("frames", "value", "exc", "module")

    def __init__(self, frames, value=None, exc=None, module=None):
        self.frames = list(frames)
        self.value = value
        self.exc = exc
        self.module = module

    def __repr__(self):
        return f"Resume({self.frames!r}, value={self.value!r}, exc={self.exc!r})"


_current_program = None   # set by load_program


def set_current_program(module):
    global _current_program
    _current_program = module


def current_program():
    return _current_program


def run(start):
    """Run a task segment; return its result or raise its exception, or a
    Capture holding the complete frame list."""
    core._active += 1
    try:
        if isinstance(start, Call):
            try:
                return core.enter(start.fn, start.args, start.kwargs)
            except Capture as capture:
                _validate(capture)
                raise
        if isinstance(start, Resume):
            return _resume(start)
        raise TypeError(f"run() takes a Call or a Resume, not {type(start).__name__}")
    finally:
        core._active -= 1


def _resume(start):
    module = start.module if start.module is not None else _current_program
    if module is None:
        raise StateError("no program loaded: call load_program() before resuming")
    registry = module.__dict__.get("__k_pp", {})
    points = []
    for frame in start.frames:
        pp = registry.get(frame.pp_id)
        if pp is None:
            raise StateError(f"checkpoint does not match the program: unknown pause point {frame.pp_id!r}")
        points.append(pp)
    value, exc = start.value, start.exc
    for i, (frame, pp) in enumerate(zip(start.frames, points)):
        try:
            value = core.enter(pp.continuation(frame.cells), (frame.vars, value, exc), {})
            exc = None
        except Capture as capture:
            _validate(capture)
            capture.frames.extend(start.frames[i + 1:])
            raise
        except BaseException as error:  # the call raised: deliver it to the caller
            value, exc = None, error
        else:
            value = _constructed(value, frame, pp, points[i + 1] if i + 1 < len(points) else None)
    if exc is not None:
        raise exc
    return value


def _constructed(value, frame, pp, caller):
    """An __init__ that paused under a class call `C(...)` (type.__call__ is
    C code, so the caller called __init__'s frame directly as far as the
    stack shows): the caller gets the instance, not __init__'s None. An
    explicit `super().__init__(...)` or `Base.__init__(self)` gets None."""
    if pp.init_self is None or value is not None:
        return value
    if caller is not None and caller.call_attr == "__init__":
        return value
    if pp.init_self in frame.vars:
        return frame.vars[pp.init_self]
    cell = frame.cells.get(pp.init_self)
    return cell.cell_contents if cell is not None else value


# -- validation ---------------------------------------------------------------

def _is_runtime(frame):
    name = frame.f_globals.get("__name__", "")
    return name in ("kappa", "rt") or name.startswith(("kappa.", "rt."))


def _program_frames(capture):
    """(frame, line) pairs from the boundary inward, up to the runtime call
    that raised; the trailing runtime frames (checkpoint, Future.wait, ...)
    are dropped."""
    tb = capture.__traceback__
    while tb is not None and tb.tb_frame.f_code is not core._BOUNDARY:
        tb = tb.tb_next
    frames = []
    tb = tb.tb_next if tb is not None else None
    while tb is not None:
        frames.append((tb.tb_frame, tb.tb_lineno))
        tb = tb.tb_next
    while frames and _is_runtime(frames[-1][0]):
        frames.pop()
    return frames


def _validate(capture):
    frames = _program_frames(capture)
    pushed = capture._pushers[::-1]   # outermost first, like `frames`
    for depth, (frame, line) in enumerate(frames):
        if depth < len(pushed) and pushed[depth] is frame:
            continue
        # a generator running further in says most about what went wrong
        inner = next(((f, n) for f, n in frames[depth:] if f.f_code.co_flags & _GENERATOR), None)
        if inner is not None:
            frame, line = inner
        caller = frames[depth - 1] if depth > 0 else None
        raise PauseError(_explain(frame, line, caller, capture.request)) from None
    if len(pushed) != len(frames):
        raise PauseError("pause could not be captured: the captured frames do not match the stack")


def _where(frame, line):
    return f"{frame.f_code.co_filename}:{line}"


def _request_name(request):
    if isinstance(request, core.Checkpoint):
        return "checkpoint"
    if isinstance(request, core.AutoPause):
        return "automatic pause"
    return f"pause ({type(request).__name__})"


def _explain(frame, line, caller, request):
    what = _request_name(request)
    if frame.f_code.co_name == "<module>":
        return (f"{_where(frame, line)}: {what} at module level (while the program is "
                f"being imported); move this code into a function")
    if frame.f_code.co_flags & _GENERATOR:
        return (f"{_where(frame, line)}: {what} inside generator '{frame.f_code.co_qualname}': a generator "
                f"is checkpointed between items, not while it runs; make the pausing call in the "
                f"code that consumes the generator")
    if core._compiled(frame):
        return (f"{_where(frame, line)}: {what} reached through an implicit call (an operator, "
                f"property, dunder or callback such as sorted(key=)); only direct calls are "
                f"pause points: call the function in a statement of its own")
    name = frame.f_code.co_qualname
    if caller is not None and _is_runtime(frame):
        return (f"{_where(*caller)}: {what} reached through '{name}', a Kappa API function "
                f"that called back into the program; a callback passed to the API cannot pause")
    if caller is not None:
        return (f"{_where(*caller)}: {what} reached through a call into '{name}' "
                f"({_where(frame, line)}), which is not compiled (code outside the program, a "
                f"class body, or a lambda, comprehension or generated function that cannot be "
                f"compiled); call a function of the program instead")
    return (f"{_where(frame, line)}: {what} inside '{name}', which is not compiled (a task "
            f"must start at a module-level function)")


def module_level_error(capture, filename):
    """The PauseError for a capture escaping the program's module code."""
    line = 0
    tb = capture.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name == "<module>" and tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    text = linecache.getline(filename, line).strip()
    suffix = f" ({text})" if text else ""
    return PauseError(f"{filename}:{line}: pause at module level (while the program is being "
                      f"imported){suffix}; move this code into a function")
