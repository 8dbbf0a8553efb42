"""Kappa: ordinary Python programs on time-bounded serverless functions.

Programs import the task API from here (or as `rt`, the original Kappa's
module name): checkpoint, spawn, futures, wait, queues, external calls,
on_coordinator, reconstructor, exit_process.
"""

from kappa.api import (
    ExitProcess,
    ExternalCall,
    Future,
    QuotaExceeded,
    RequestError,
    TaskFailed,
    TaskIdentity,
    call_external,
    current_task,
    exit_process,
    map_spawn,
    on_coordinator,
    spawn,
    spawn_many,
    wait,
)
from kappa.pickling import UnpicklableValue
from kappa.queues import Queue, create_queue, create_queues
from kappa.reconstruct import reconstructor
from kappa.runtime import checkpoint, pause

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
    "create_queue",
    "create_queues",
    "Queue",
    "call_external",
    "ExternalCall",
    "on_coordinator",
    "reconstructor",
    "current_task",
    "TaskIdentity",
    "RequestError",
    "QuotaExceeded",
    "UnpicklableValue",
]
