"""The Kappa runtime core: capture, resume, state, program loading.

    module = load_program(compile_source(text, "app.py"))
    try:
        result = run(Call(module.main, (), {}))
    except Capture as c:
        blob = dump_state(c.frames, module, c.request)
        ...
        module = load_program(compiled)            # in any process
        frames, request = load_state(blob, module)
        result = run(Resume(frames, value))
"""

from .core import (
    AutoPause,
    Capture,
    Checkpoint,
    Frame,
    PausePoint,
    active,
    auto_pause,
    checkpoint,
    clear_pause,
    is_pending,
    pause,
    request_pause,
    set_pause_filter,
)
from .loader import DEFAULT_MODULE, load_program
from .run import Call, PauseError, Resume, StateError, current_program, run
from .state import UnpicklableError, dump_state, load_state, program_globals
from .tracebacks import format_user_traceback

__all__ = [
    "AutoPause", "Call", "Capture", "Checkpoint", "DEFAULT_MODULE", "Frame", "PauseError",
    "PausePoint", "Resume", "StateError", "UnpicklableError", "active", "auto_pause",
    "checkpoint", "clear_pause", "current_program", "dump_state", "format_user_traceback",
    "is_pending", "load_program", "load_state", "pause", "program_globals", "request_pause",
    "run", "set_pause_filter",
]
