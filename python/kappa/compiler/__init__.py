"""The Kappa compiler: Python source -> checkpointable Python.

    compiled = compile_source(source, "app.py")
    module = kappa.runtime.load_program(compiled)

A pipeline of small passes, each its own module: parse, check, classify,
flatten, liveness, continuations, wrap (see pipeline.py).
"""

from .errors import CompileError
from .pipeline import Compiled, PausePointInfo, PauseSites, Stats, compile_file, compile_source

__all__ = ["CompileError", "Compiled", "PausePointInfo", "PauseSites", "Stats",
           "compile_file", "compile_source"]
