"""The Kappa compiler: Python source -> checkpointable Python.

    compiled = compile_source(source, "app.py")
    module = kappa.runtime.load_program(compiled)

A pipeline of small stages, each its own module; pipeline.STAGES lists
them in the order they run: parse, mangle, classify, check, shape (on
every function: prepare, flatten, desugar), number, emit (continuations,
liveness, wrap), assemble, compile.
"""

from .compiled import Compiled, PausePointInfo, PauseSites, Stats
from .errors import CompileError
from .pipeline import compile_file, compile_source

__all__ = ["CompileError", "Compiled", "PausePointInfo", "PauseSites", "Stats",
           "compile_file", "compile_source"]
