"""Capture: the stack as a list of continuations.

This module is what compiled programs see as `__kappa__`. A pause raises
Capture (a BaseException, so user `except Exception` never swallows it);
every compiled frame it passes through records (pause point id, live
locals) with `push`, innermost first, and re-raises. `run` (run.py) receives
the complete list at the boundary.

Every compiled function has one handler; it calls `record`, which finds
the pause point the frame is stopped at from the traceback (each pausing
call has its own source position, see kappa.compiler.PauseSites).

Automatic pauses: `pending` is set by request_pause() (a timer thread);
then every compiled function entry calls `auto_pause`, which pauses only if
every frame between the boundary and here is compiled code stopped at a
pause point; otherwise the flag stays set and the next function entry tries
again. For speed, compiled code reads a copy of the flag kept in its own
module globals (`__k_pending__`: one global load instead of a global and an
attribute); request_pause/clear_pause update `pending` and every copy.
"""

import builtins
import sys
import threading
import types
import weakref

from .generators import Delegate  # noqa: F401  (used by compiled generators as __kappa__.Delegate)

# Builtins the generated code calls as `__kappa__.X`, immune to shadowing.
locals = builtins.locals   # noqa: A001  (called from the compiled frame itself)
iter = builtins.iter       # noqa: A001
AssertionError = builtins.AssertionError  # noqa: A001
BaseException = builtins.BaseException    # noqa: A001
slice = builtins.slice     # noqa: A001
type = builtins.type       # noqa: A001
set = builtins.set         # noqa: A001

PENDING = "__k_pending__"   # the name of a program's copy of the flag


class _Jump:
    """Why a finally block that paused was running (besides an exception)."""

    def __init__(self, name):
        self.name = name

    def __reduce__(self):
        return self.name   # pickled by reference: the same object after a restore

    def __repr__(self):
        return f"<{self.name}>"


RETURN, BREAK, CONTINUE = _Jump("RETURN"), _Jump("BREAK"), _Jump("CONTINUE")

# Set by request_pause(); mirrored into each loaded program's `__k_pending`.
pending = False
_programs = weakref.WeakSet()     # loaded program modules holding a copy
_flag_lock = threading.Lock()     # keeps `pending` and the copies in step

# How many run()/load_program() calls are active; outside of them an
# explicit checkpoint() does nothing, so a program also runs as plain Python.
_active = 0

# Optional policy hook (the local driver uses it): called with the request of
# a pause that is about to happen; returning False skips that pause.
_pause_filter = None


class Frame:
    """One captured frame: pause point id, its live variables and its live
    cells (variables shared with closures, kept as the cell objects)."""

    __slots__ = ("pp_id", "vars", "cells")

    def __init__(self, pp_id, vars, cells=None):  # noqa: A002
        self.pp_id = pp_id
        self.vars = vars
        self.cells = cells or {}

    def __getstate__(self):
        return (self.pp_id, self.vars, self.cells)

    def __setstate__(self, state):
        self.pp_id, self.vars = state[:2]
        self.cells = state[2] if len(state) > 2 else {}

    def __eq__(self, other):
        return isinstance(other, Frame) and (self.pp_id, self.vars, self.cells) == (
            other.pp_id, other.vars, other.cells)

    def __repr__(self):
        return f"Frame({self.pp_id!r}, {sorted(self.vars) + sorted(self.cells)!r})"


class Checkpoint:
    """Request of an explicit checkpoint() / pause()."""

    def __eq__(self, other):
        return type(other) is Checkpoint

    def __repr__(self):
        return "Checkpoint()"


class AutoPause:
    """Request of an automatic pause (the pending flag was set)."""

    def __eq__(self, other):
        return type(other) is AutoPause

    def __repr__(self):
        return "AutoPause()"


class PausePoint:
    """Registry entry of a compiled program (`__k_pp[id]`).

    kind: entry, call (a pausing call), genentry, yield or yieldfrom (a
    generator's). `cells`: the cell variables saved with the frame.
    `init_self`: in an __init__ method, the instance parameter (a class call
    that paused in __init__ gets the instance back). `call_attr`: the
    attribute name of the paused call, `x.attr(...)`."""

    __slots__ = ("id", "function", "live", "resume", "line", "cells", "kind", "init_self", "call_attr",
                 "qualname")

    def __init__(self, id, function, live, resume, line, cells=(), kind="call", init_self=None,  # noqa: A002
                 call_attr=None, qualname=None):
        self.id = id
        self.function = function
        self.live = frozenset(live)
        self.resume = resume      # the continuation: resume(vars, value, exc); a generator's: resume(vars)
        self.line = line
        self.cells = frozenset(cells)
        self.kind = kind
        self.init_self = init_self
        self.call_attr = call_attr
        self.qualname = qualname or function

    def continuation(self, cells):
        """The continuation function, around a frame's saved cells."""
        code = self.resume.__code__
        if not code.co_freevars:
            return self.resume
        closure = tuple(cells.get(name) or types.CellType() for name in code.co_freevars)
        return types.FunctionType(code, self.resume.__globals__, self.resume.__name__, None, closure)

    def __repr__(self):
        return f"PausePoint({self.id!r}, line {self.line}, live={sorted(self.live | self.cells)})"


def register(registry, continuations, specs):
    """Called by compiled module code: one PausePoint per (continuation, spec)."""
    for resume, spec in zip(continuations, specs):
        pp_id, function, live, line, cells, kind, init_self, call_attr, qualname = spec
        registry[pp_id] = PausePoint(pp_id, function, live, resume, line, cells, kind, init_self,
                                     call_attr, qualname)


def alive():
    """False in a generator of a program that was replaced by a fresh load
    (its state went to a checkpoint and lives on elsewhere): when such a
    generator is garbage collected, its finally blocks and __exit__ calls
    must not run a second time."""
    namespace = sys._getframe(1).f_globals
    module = sys.modules.get(namespace.get("__name__"))
    return module is not None and module.__dict__ is namespace


def enter_with(manager):
    """The start of a `with` statement (PEP 343): (exit method, __enter__'s result)."""
    cls = type(manager)
    try:
        enter, exit_ = cls.__enter__, cls.__exit__
    except AttributeError:
        raise TypeError(f"'{cls.__name__}' object does not support the context manager protocol") from None
    return exit_, enter(manager)


class Capture(BaseException):
    """The stack being captured. `request` says what the pause wants;
    `frames` lists Frame objects, innermost first."""

    def __init__(self, request=None):
        super().__init__(request)
        self.request = request
        self.frames = []
        self._pushers = []   # the Python frames that pushed (for validation)

    def push(self, pp, local_vars, cells=None):
        """Record the calling compiled frame, stopped at pause point `pp`."""
        self._push(pp, local_vars, cells, sys._getframe(1))

    def record(self, local_vars, cells=None):
        """Record the calling compiled frame at the pause point it is stopped
        at; `cells` is a function whose closure holds the frame's cells. A
        frame stopped elsewhere (an implicit call) records nothing: run()
        then reports the pause as an error."""
        frame = sys._getframe(1)
        tb = self.__traceback__
        while tb is not None and tb.tb_frame is not frame:
            tb = tb.tb_next
        sites = frame.f_globals.get("__k_sites")
        if tb is None or sites is None:
            return
        pp_id = sites.pause_id(frame.f_code, tb.tb_lasti)
        if pp_id is not None:
            self._push(frame.f_globals["__k_pp"][pp_id], local_vars, cells, frame)

    def _push(self, pp, local_vars, cells, frame):
        live = {name: local_vars[name] for name in pp.live if name in local_vars}
        saved = {}
        if pp.cells and cells is not None:
            by_name = dict(zip(cells.__code__.co_freevars, cells.__closure__))
            saved = {name: by_name[name] for name in pp.cells if name in by_name}
        self.frames.append(Frame(pp.id, live, saved))
        self._pushers.append(frame)


def checkpoint():
    """Save the task's state here (a pause point); returns None.

    Outside a Kappa run (plain Python) it does nothing.
    """
    if not _active:
        return None
    request = Checkpoint()
    if _pause_filter is not None and not _pause_filter(request):
        return None
    raise Capture(request)


pause = checkpoint


def request_pause():
    """Ask for an automatic pause at the next legal point (thread-safe)."""
    _set_pending(True)


def clear_pause():
    # Every checkpoint clears the flag, and it is seldom raised: skip the
    # lock and the walk over the programs when it is down. A request that
    # races with this read survives it, as it would by coming just after.
    if pending:
        _set_pending(False)


def is_pending():
    """Whether an automatic pause has been requested and not yet taken."""
    return pending


def _set_pending(value):
    global pending
    with _flag_lock:
        pending = value
        for module in list(_programs):
            module.__dict__[PENDING] = value


def register_program(module):
    """Give a freshly loaded program its copy of the pending flag."""
    with _flag_lock:
        _programs.add(module)
        module.__dict__[PENDING] = pending


def set_pause_filter(fn):
    """Install (or remove, with None) the pause policy hook; returns the old one."""
    global _pause_filter
    old, _pause_filter = _pause_filter, fn
    return old


def active():
    """True inside run() (and while load_program runs module code)."""
    return _active > 0


def auto_pause():
    """Called by a compiled function at entry when `pending` is set."""
    if not pending or not _active:
        return
    if not _legal_here(sys._getframe(1)):
        return  # the flag stays set: the next function entry tries again
    request = AutoPause()
    if _pause_filter is not None and not _pause_filter(request):
        return
    clear_pause()
    raise Capture(request)


def enter(fn, args, kwargs):
    """The boundary: run() calls program code only through here."""
    return fn(*args, **kwargs)


_BOUNDARY = enter.__code__


def _legal_here(frame):
    """True if `frame` (a compiled function at its entry) and every frame
    out to the boundary can be captured: compiled code stopped at a pause
    point."""
    if not _compiled(frame):
        return False
    frame = frame.f_back
    while frame is not None and frame.f_code is not _BOUNDARY:
        if not (_compiled(frame) and _at_pause_site(frame)):
            return False
        frame = frame.f_back
    return frame is not None


def _compiled(frame):
    sites = frame.f_globals.get("__k_sites")
    return sites is not None and sites.compiled(frame.f_code)


def _at_pause_site(frame):
    return frame.f_globals["__k_sites"].pause_id(frame.f_code, frame.f_lasti) is not None
