"""Run a prefix of the compiler's declared stages (pipeline.STAGES) on small sources."""

import ast
import textwrap

from kappa.compiler import compile_source
from kappa.compiler.pipeline import FUNCTION_STAGES, Classified, Shaped, Source, run_stages, stage, stages_through


def dedent(source):
    return textwrap.dedent(source).lstrip("\n")


def classified(source) -> Classified:
    """The stages through classify: every call marked `kappa_pause`."""
    return run_stages(Source(dedent(source), "prog.py"), stages_through("classify"))


def classify_source(source):
    """{function name: [(call source, pauses)]} in source order, for the
    module-level functions."""
    out = {}
    for fn in classified(source).tree.body:
        if isinstance(fn, ast.FunctionDef):
            calls = [n for s in fn.body for n in ast.walk(s) if isinstance(n, ast.Call)]
            calls.sort(key=lambda n: (n.lineno, n.col_offset))
            out[fn.name] = [(ast.unparse(n), n.kappa_pause) for n in calls]
    return out


def flattened(source) -> Shaped:
    """The stages through check, then shape with the function stages through
    flatten (not desugared, numbered nor wrapped): `.tree` is exec-able."""
    state = run_stages(Source(dedent(source), "prog.py"), stages_through("check"))
    state = stage("shape").run(state, stages_through("flatten", FUNCTION_STAGES))
    ast.fix_missing_locations(state.tree)
    return state


def live_sets(source, name=None):
    """{pause id: set of live names} of one function (the first by default)."""
    compiled = compile_source(dedent(source), "prog.py")
    tree = ast.parse(dedent(source))
    name = name or next(fn.name for fn in tree.body if isinstance(fn, ast.FunctionDef))
    return {pp: set(info.live) for pp, info in compiled.pause_points.items()
            if pp.rsplit(":", 1)[0] == name}
