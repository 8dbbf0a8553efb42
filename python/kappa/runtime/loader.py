"""load_program: import a compiled program into a fresh module.

The program is never `__main__`: it lives under a fixed module name so that
pickle finds its functions and classes by reference in any process. Every
call creates a new module object (a warm worker re-imports for each task).
"""

import builtins
import linecache
import sys
import types

from . import core
from .run import module_level_error, set_current_program

DEFAULT_MODULE = "kappa_program"


def load_program(compiled, module_name=DEFAULT_MODULE, source=None):
    """Exec `compiled` (kappa.compiler.Compiled) in a new module registered as
    sys.modules[module_name]; return the module. `source` is the user's text
    for tracebacks (default: the text that was compiled)."""
    module = types.ModuleType(module_name)
    module.__file__ = compiled.filename
    namespace = module.__dict__
    namespace["__builtins__"] = builtins
    namespace["__kappa__"] = core
    namespace["__k_sites"] = compiled.sites
    namespace["__k_fingerprint"] = compiled.fingerprint
    core.register_program(module)
    sys.modules[module_name] = module
    _register_source(compiled.filename, source if source is not None else compiled.original)
    core._active += 1   # a pause in module code must fail, not silently pass
    try:
        exec(compiled.code, namespace)
    except core.Capture as capture:
        raise module_level_error(capture, compiled.filename) from None
    finally:
        core._active -= 1
    set_current_program(module)
    return module


def _register_source(filename, text):
    """Let tracebacks show the user's lines even if the file is not on disk."""
    lines = text.splitlines(keepends=True)
    linecache.cache[filename] = (len(text), None, lines, filename)
