"""Pass 5: live variables at each pause point (backward dataflow).

Works on a flattened body with structured control flow only (if, while,
for, break, continue, return; try/with are rejected earlier). Loops are
solved by iterating to a fixpoint. A loop head also *reads* the for-loop's
iterable: a continuation re-enters the loop with the same named iterator,
so the iterator must survive every pause inside the body.

At a pause point the live set is what is live just after the call, minus
the name the call's result is assigned to. Only live locals are saved.

TEST-ONLY: `KAPPA_TEST_DROP_LIVE` (or compile_source's `drop_live`) removes
one variable from one live set, so the differential tests can prove they
catch a liveness bug. "1" drops the first variable of the first pause point
(in program order) that has one; "f:2:x" drops x from pause point f:2.
"""

import ast
import os
from collections import namedtuple

from .astutil import loaded_names, pause_target_of, stored_names, target_reads

_Loop = namedtuple("_Loop", "brk cont")   # live sets at break / continue targets

DROP_ENV = "KAPPA_TEST_DROP_LIVE"


class Liveness:
    def __init__(self, local_names):
        self.locals = frozenset(local_names)
        self.at_pause = {}   # pause id -> live set just after the call

    def reads(self, node):
        return (loaded_names(node) & self.locals) if node is not None else set()

    def function(self, body):
        """Live set at function entry; fills self.at_pause."""
        return self.block(body, set(), None)

    def block(self, stmts, out, loop):
        live = set(out)
        for stmt in reversed(stmts):
            live = self.stmt(stmt, live, loop)
        return live

    def stmt(self, s, out, loop):
        pp = getattr(s, "kappa_pp", None)
        if pp is not None:
            target = pause_target_of(s)
            self.at_pause[pp] = frozenset(out - {target})
        method = getattr(self, "s_" + type(s).__name__, None)
        if method is None:
            # import, pass, expression statements and anything else that does
            # not jump: kills what it binds, reads what it mentions.
            return (out - self._bound(s)) | self.reads(s)
        return method(s, out, loop)

    def _bound(self, s):
        if isinstance(s, (ast.Import, ast.ImportFrom)):
            return {a.asname or a.name.split(".")[0] for a in s.names}
        return set()

    def s_Assign(self, s, out, loop):
        killed = set().union(*(stored_names(t) for t in s.targets))
        reads = self.reads(s.value).union(*(target_reads(t) & self.locals for t in s.targets))
        return (out - killed) | reads

    def s_AnnAssign(self, s, out, loop):
        if s.value is None:
            return out | (target_reads(s.target) & self.locals)
        return self.s_Assign(ast.Assign(targets=[s.target], value=s.value), out, loop)

    def s_AugAssign(self, s, out, loop):
        return out | self.reads(s.target) | self.reads(s.value) | (
            {s.target.id} & self.locals if isinstance(s.target, ast.Name) else set())

    def s_Delete(self, s, out, loop):
        deleted = {t.id for t in s.targets if isinstance(t, ast.Name)}
        return (out - deleted) | (deleted & self.locals) | set().union(
            *(self.reads(t) for t in s.targets))

    def s_Return(self, s, out, loop):
        return self.reads(s.value)

    def s_Raise(self, s, out, loop):
        return self.reads(s.exc) | self.reads(s.cause)

    def s_Break(self, s, out, loop):
        return set(loop.brk)

    def s_Continue(self, s, out, loop):
        return set(loop.cont)

    def s_If(self, s, out, loop):
        return self.reads(s.test) | self.block(s.body, out, loop) | self.block(s.orelse, out, loop)

    def s_While(self, s, out, loop):
        return self._loop(s, out, loop, self.reads(s.test), set(), set())

    def s_For(self, s, out, loop):
        return self._loop(s, out, loop, self.reads(s.iter), stored_names(s.target),
                          target_reads(s.target) & self.locals)

    def _loop(self, s, out, outer, head_reads, bound_each_time, target_reads_):
        """Fixpoint over the loop head: head = reads | else | body(head)."""
        after_else = self.block(s.orelse, out, outer)
        head = set()
        while True:
            body_in = self.block(s.body, head, _Loop(out, head))
            new_head = head_reads | after_else | (body_in - bound_each_time) | target_reads_
            if new_head == head:
                return head
            head = new_head


def function_liveness(body, local_names):
    """(live at entry, {pause id: frozenset of live names})."""
    analysis = Liveness(local_names)
    entry = analysis.function(body)
    return frozenset(entry), analysis.at_pause


def drop_spec(explicit=None):
    """The test-only drop request: None, "1" (first one) or "pp:name"."""
    spec = explicit if explicit is not None else os.environ.get(DROP_ENV)
    return spec or None


def apply_drop(live_by_pp, spec, order):
    """Remove one variable from one pause point's live set (test only).

    `order` lists pause ids in program order; returns (pp, name) or None.
    """
    if not spec:
        return None
    if spec not in ("1", "true", "yes"):
        pp, _, name = spec.rpartition(":")
        if name in live_by_pp.get(pp, ()):
            live_by_pp[pp] = live_by_pp[pp] - {name}
            return pp, name
        return None
    for pp in order:
        if pp.endswith(":0"):
            continue
        names = sorted(n for n in live_by_pp.get(pp, ()) if not n.startswith("__k_"))
        if names:
            live_by_pp[pp] = live_by_pp[pp] - {names[0]}
            return pp, names[0]
    return None
