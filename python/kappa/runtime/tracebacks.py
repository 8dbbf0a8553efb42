"""Tracebacks in the user's terms: only the program's frames, with the
user's file, original line numbers and source lines (the compiler keeps the
original locations, and continuations carry the user's function names)."""

import linecache
import traceback


def _is_program(frame):
    return "__k_sites" in frame.f_globals


def _program_stack(tb):
    items = []
    while tb is not None:
        frame = tb.tb_frame
        if _is_program(frame):
            code = frame.f_code
            line = linecache.getline(code.co_filename, tb.tb_lineno, frame.f_globals).strip()
            items.append(traceback.FrameSummary(code.co_filename, tb.tb_lineno, code.co_name,
                                                lookup_line=False, line=line))
        tb = tb.tb_next
    return traceback.StackSummary.from_list(items)


def _one(exc):
    text = ""
    stack = _program_stack(exc.__traceback__)
    if stack:
        text += "Traceback (most recent call last):\n" + "".join(stack.format())
    return text + "".join(traceback.format_exception_only(type(exc), exc))


def format_user_traceback(exc, _seen=None):
    """The exception and its cause/context chain (oldest first, like
    Python), program frames only."""
    seen = _seen if _seen is not None else set()
    seen.add(id(exc))
    text = ""
    cause, context = exc.__cause__, exc.__context__
    if cause is not None and id(cause) not in seen:
        text = (format_user_traceback(cause, seen) + "\nThe above exception was the direct "
                "cause of the following exception:\n\n")
    elif context is not None and not exc.__suppress_context__ and id(context) not in seen:
        text = (format_user_traceback(context, seen) + "\nDuring handling of the above "
                "exception, another exception occurred:\n\n")
    return text + _one(exc)
