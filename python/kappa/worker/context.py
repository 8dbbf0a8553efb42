"""The context a program's handler(event, context) receives.

It stands for whichever lambda is running the task now: it survives
checkpoints (it pickles as a reference) and answers for the current
invocation after a restore in another lambda.
"""

from __future__ import annotations

_current = None  # the platform's context object of the running invocation


def set_current(lambda_context) -> None:
    global _current
    _current = lambda_context


class KappaContext:
    def get_remaining_time_in_millis(self) -> int:
        return _current.get_remaining_time_in_millis() if _current is not None else 0

    @property
    def aws_request_id(self) -> str:
        return getattr(_current, "aws_request_id", "")

    @property
    def function_name(self) -> str:
        return getattr(_current, "function_name", "")

    def __reduce__(self):
        return (KappaContext, ())

    def __repr__(self):
        return f"KappaContext(request={self.aws_request_id!r})"
