"""Capture: the stack as a list of continuations.

This module is what compiled programs see as `__kappa__`. A pause raises
Capture (a BaseException, so user `except Exception` never swallows it);
every compiled frame it passes through records (pause point id, live
locals) with `push`, innermost first, and re-raises. `run` (run.py) receives
the complete list at the boundary.

Automatic pauses: `pending` is set by request_pause() (a timer thread);
then every compiled function entry calls `auto_pause`, which pauses only if
every frame between the boundary and here is compiled code stopped at a
pause point; otherwise the flag stays set and the next function entry tries
again. For speed, compiled code reads a copy of the flag kept in its own
module globals (`__k_pending`: one global load instead of a global and an
attribute); request_pause/clear_pause update `pending` and every copy.
"""

import builtins
import sys
import threading
import weakref

# Builtins the generated code calls as `__kappa__.X`, immune to shadowing.
locals = builtins.locals   # noqa: A001  (called from the compiled frame itself)
iter = builtins.iter       # noqa: A001
AssertionError = builtins.AssertionError  # noqa: A001
slice = builtins.slice     # noqa: A001

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
    """One captured frame: pause point id and its live variables."""

    __slots__ = ("pp_id", "vars")

    def __init__(self, pp_id, vars):  # noqa: A002
        self.pp_id = pp_id
        self.vars = vars

    def __getstate__(self):
        return (self.pp_id, self.vars)

    def __setstate__(self, state):
        self.pp_id, self.vars = state

    def __eq__(self, other):
        return isinstance(other, Frame) and (self.pp_id, self.vars) == (other.pp_id, other.vars)

    def __repr__(self):
        return f"Frame({self.pp_id!r}, {sorted(self.vars)!r})"


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
    """Registry entry of a compiled program (`__k_pp[id]`)."""

    __slots__ = ("id", "function", "live", "resume", "line")

    def __init__(self, id, function, live, resume, line):  # noqa: A002
        self.id = id
        self.function = function
        self.live = frozenset(live)
        self.resume = resume      # the continuation: resume(vars, value, exc)
        self.line = line

    def __repr__(self):
        return f"PausePoint({self.id!r}, line {self.line}, live={sorted(self.live)})"


class Capture(BaseException):
    """The stack being captured. `request` says what the pause wants;
    `frames` lists Frame objects, innermost first."""

    def __init__(self, request=None):
        super().__init__(request)
        self.request = request
        self.frames = []
        self._pushers = []   # the Python frames that pushed (for validation)

    def push(self, pp, local_vars):
        """Record the calling compiled frame, stopped at pause point `pp`."""
        live = {name: local_vars[name] for name in pp.live if name in local_vars}
        self.frames.append(Frame(pp.id, live))
        self._pushers.append(sys._getframe(1))


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
    _set_pending(False)


def is_pending():
    """Whether an automatic pause has been requested and not yet taken."""
    return pending


def _set_pending(value):
    global pending
    with _flag_lock:
        pending = value
        for module in list(_programs):
            module.__dict__["__k_pending"] = value


def register_program(module):
    """Give a freshly loaded program its copy of the pending flag."""
    with _flag_lock:
        _programs.add(module)
        module.__dict__["__k_pending"] = pending


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
_positions = weakref.WeakKeyDictionary()   # code -> list of positions


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
    code = frame.f_code
    table = _positions.get(code)
    if table is None:
        table = _positions[code] = list(code.co_positions())
    index = frame.f_lasti // 2
    if not 0 <= index < len(table):
        return False
    line, end_line, col, end_col = table[index]
    sites = frame.f_globals["__k_sites"]
    if col is None:   # running without column information (-X no_debug_ranges)
        return line in sites.lines
    return (line, end_line, col, end_col) in sites.positions
