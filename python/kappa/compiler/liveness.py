"""Live variables at each suspension point (backward dataflow), for the
emit stage.

The live set of a pause point is computed on the code of its continuation
(the statement resumed, then the rest of the function): what that code may
read before writing it is what the checkpoint must hold. Loops are solved
by iterating to a fixpoint. An exception may leave any statement of a try
body for a handler or the finally block, so what they read is live all
through the body.

Cell variables (shared with closures) are not in these sets: a cell is
saved whenever the continuation mentions its name at all (see
continuations.py), since writing it also writes the closures' view.

TEST-ONLY: `KAPPA_TEST_DROP_LIVE` (or compile_source's `drop_live`) removes
one variable from one live set, so the differential tests can prove they
catch a liveness bug. "1" drops the first variable of the first pause point
(in program order) that has one; "f:2:x" drops x from pause point f:2.
"""

import ast
import os
from collections import namedtuple
from collections.abc import Iterable

from .ast_queries import loaded_names, stored_names, target_reads

_Jumps = namedtuple("_Jumps", "brk cont exc")   # live sets at break, continue, exception targets

DROP_ENV = "KAPPA_TEST_DROP_LIVE"
_NOWHERE = _Jumps(frozenset(), frozenset(), frozenset())


class Liveness:
    def __init__(self, names):
        self.names = frozenset(names)

    def reads(self, node):
        return (loaded_names(node) & self.names) if node is not None else set()

    def block(self, stmts, out, jumps=_NOWHERE):
        live = set(out)
        for stmt in reversed(stmts):
            live = self.stmt(stmt, live, jumps)
        return live

    def stmt(self, s, out, jumps):
        out = set(out) | jumps.exc   # an exception may leave here for a handler
        method = getattr(self, "s_" + type(s).__name__, None)
        if method is None:
            # pass, expression statements, assert and anything else that does
            # not jump: kills what it binds, reads what it mentions.
            return (out - self._bound(s)) | self.reads(s)
        return method(s, out, jumps)

    def _bound(self, s):
        if isinstance(s, (ast.Import, ast.ImportFrom)):
            return {a.asname or a.name.split(".")[0] for a in s.names}
        return set()

    def s_Assign(self, s, out, jumps):
        killed = set().union(*(stored_names(t) for t in s.targets))
        reads = self.reads(s.value).union(*(target_reads(t) & self.names for t in s.targets))
        return (out - killed) | reads

    def s_AnnAssign(self, s, out, jumps):
        if s.value is None:
            return out | (target_reads(s.target) & self.names)
        return self.s_Assign(ast.Assign(targets=[s.target], value=s.value), out, jumps)

    def s_AugAssign(self, s, out, jumps):
        return out | self.reads(s.target) | self.reads(s.value) | (
            {s.target.id} & self.names if isinstance(s.target, ast.Name) else set())

    def s_Delete(self, s, out, jumps):
        deleted = {t.id for t in s.targets if isinstance(t, ast.Name)}
        return (out - deleted) | (deleted & self.names) | set().union(*(self.reads(t) for t in s.targets))

    def s_Return(self, s, out, jumps):
        return self.reads(s.value) | jumps.exc

    def s_Raise(self, s, out, jumps):
        return self.reads(s.exc) | self.reads(s.cause) | jumps.exc

    def s_Break(self, s, out, jumps):
        return set(jumps.brk) | jumps.exc

    def s_Continue(self, s, out, jumps):
        return set(jumps.cont) | jumps.exc

    def s_If(self, s, out, jumps):
        return self.reads(s.test) | self.block(s.body, out, jumps) | self.block(s.orelse, out, jumps)

    def s_While(self, s, out, jumps):
        return self._loop(s, out, jumps, self.reads(s.test), set(), set())

    def s_For(self, s, out, jumps):
        return self._loop(s, out, jumps, self.reads(s.iter), stored_names(s.target),
                          target_reads(s.target) & self.names)

    def _loop(self, s, out, outer, head_reads, bound_each_time, target_reads_):
        """Fixpoint over the loop head: head = reads | else | body(head)."""
        after_else = self.block(s.orelse, out, outer)
        head = set()
        while True:
            body_in = self.block(s.body, head, _Jumps(frozenset(out), frozenset(head), outer.exc))
            new_head = head_reads | after_else | (body_in - bound_each_time) | target_reads_
            if new_head == head:
                return head
            head = new_head

    def s_Try(self, s, out, jumps):
        final_in = set()
        if s.finalbody:
            # after the finally block: go on, or re-raise / return / jump
            after = set(out) | jumps.exc | jumps.brk | jumps.cont
            final_in = self.block(s.finalbody, after, jumps)
        outer = _Jumps(jumps.brk, jumps.cont, frozenset(jumps.exc | final_in))
        handlers_in = set()
        for h in s.handlers:
            live = self.block(h.body, out | final_in, outer)
            handlers_in |= (live - ({h.name} if h.name else set())) | self.reads(h.type)
        else_in = self.block(s.orelse, out | final_in, outer)
        inner = _Jumps(jumps.brk, jumps.cont, frozenset(outer.exc | handlers_in))
        return self.block(s.body, else_in, inner) | handlers_in | final_in

    s_TryStar = s_Try

    def s_With(self, s, out, jumps):
        targets = set().union(*(stored_names(i.optional_vars) for i in s.items if i.optional_vars))
        body_in = self.block(s.body, out, jumps)
        reads = set().union(*(self.reads(i.context_expr) | (target_reads(i.optional_vars) & self.names
                                                            if i.optional_vars else set())
                              for i in s.items))
        return (body_in - targets) | reads

    def s_Match(self, s, out, jumps):
        live = set(out)
        for case in s.cases:
            bound = {n.name for n in ast.walk(case.pattern) if getattr(n, "name", None)}
            live |= (self.block(case.body, out, jumps) | self.reads(case.guard)) - bound
            live |= self.reads(case.pattern)
        return live | self.reads(s.subject)

    def _definition(self, s, out, parts):
        return (out - {s.name}) | set().union(*(self.reads(p) for p in parts if p is not None))

    def s_FunctionDef(self, s, out, jumps):
        return self._definition(s, out, s.decorator_list + s.args.defaults + s.args.kw_defaults)

    def s_ClassDef(self, s, out, jumps):
        return self._definition(s, out, s.decorator_list + s.bases + [k.value for k in s.keywords])

    def s_Global(self, s, out, jumps):
        return out

    s_Nonlocal = s_Global


def live_in(stmts: list[ast.stmt], names: Iterable[str]) -> frozenset[str]:
    """Names among `names` that `stmts` may read before writing them."""
    return frozenset(Liveness(names).block(stmts, set()))


def drop_spec(explicit: str | None = None) -> str | None:
    """The test-only drop request: None, "1" (first one) or "pp:name"."""
    spec = explicit if explicit is not None else os.environ.get(DROP_ENV)
    return spec or None


def apply_drop(live_by_pp: dict[str, frozenset[str]], spec: str | None,
               order: list[str]) -> tuple[str, str] | None:
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

