"""Kappa: ordinary Python programs on time-bounded serverless functions.

Programs import the task API from here (or as `rt`, the original Kappa's
module name): checkpoint, spawn, futures, wait, exit_process.
"""

from kappa.runtime import checkpoint, pause
from kappa.api import (
    ExitProcess,
    Future,
    TaskFailed,
    exit_process,
    map_spawn,
    spawn,
    spawn_many,
    wait,
)

__all__ = [
    "checkpoint",
    "pause",
    "spawn",
    "spawn_many",
    "map_spawn",
    "wait",
    "Future",
    "TaskFailed",
    "exit_process",
    "ExitProcess",
]
