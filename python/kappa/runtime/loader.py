"""load_program: import a compiled program into a fresh module.

The program is never `__main__`: it lives under a fixed module name so that
pickle finds its functions and classes by reference in any process. Every
call creates a new module object (a warm worker re-imports for each task).

A directory program's other modules are imported by an import hook
(kappa.worker.program) into the module objects importlib makes for them,
with load_module: they join the entry's program (pause points, saved state).
"""

import builtins
import linecache
import sys
import types

from . import core
from .programstate import join_program
from .run import module_level_error, set_current_program

DEFAULT_MODULE = "kappa_program"


def load_program(compiled, module_name=DEFAULT_MODULE, source=None):
    """Exec `compiled` (kappa.compiler.Compiled) in a new module registered as
    sys.modules[module_name]; return the module. `source` is the user's text
    for tracebacks (default: the text that was compiled)."""
    module = types.ModuleType(module_name)
    _exec(compiled, module, source)
    set_current_program(module)
    return module


def load_module(compiled, module, entry, source=None):
    """Exec one of the program's own modules (not the entry) in `module`,
    the module importlib made from its spec: its __spec__, __package__ and,
    for a package, __path__ are set before its code runs, so the code can
    import its package's modules (`from . import x`, `import pkg.sub`). The
    module joins `entry`'s program: a checkpoint holds its state too, and
    resuming finds its pause points in the entry's registry. The current
    program stays `entry`."""
    _exec(compiled, module, source)
    _share_pause_points(entry, module)
    join_program(entry, module)
    return module


def _exec(compiled, module, source):
    module.__file__ = compiled.filename
    namespace = module.__dict__
    namespace["__builtins__"] = builtins
    namespace["__kappa__"] = core
    namespace["__k_sites"] = compiled.sites
    namespace["__k_fingerprint"] = compiled.fingerprint
    core.register_program(module)
    sys.modules[module.__name__] = module
    _register_source(compiled.filename, source if source is not None else compiled.original)
    core._active += 1   # a pause in module code must fail, not silently pass
    try:
        exec(compiled.code, namespace)
    except core.Capture as capture:
        raise module_level_error(capture, compiled.filename) from None
    finally:
        core._active -= 1


def _share_pause_points(entry, module):
    """Resuming looks every captured frame up in the entry module's pause
    point registry, so a module's pause points join it, under ids prefixed
    with the module's name (two modules may both define `work`). The
    module's own registry keeps its keys: capturing looks the site up
    there and records the prefixed id."""
    registry = module.__dict__.get("__k_pp")
    if registry is None or entry is module:
        return
    shared = entry.__dict__.setdefault("__k_pp", {})
    for key, point in registry.items():
        point.id = f"{module.__name__}/{key}"
        shared[point.id] = point


def _register_source(filename, text):
    """Let tracebacks show the user's lines even if the file is not on disk."""
    lines = text.splitlines(keepends=True)
    linecache.cache[filename] = (len(text), None, lines, filename)
