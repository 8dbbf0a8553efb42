"""The lambda handler: the same function AWS's managed Python runtime and
Kappa's local platform call for every invocation of the worker function."""

from __future__ import annotations

from kappa.worker.context import set_current
from kappa.worker.task import Spec, TaskRun


def handler(event, context):
    """Runs one invocation of one task: until it exits, blocks, or nears the
    lambda's deadline (then it checkpoints and yields)."""
    spec = Spec.from_event(event)
    set_current(context)
    try:
        return TaskRun(spec, context).run()
    finally:
        set_current(None)
