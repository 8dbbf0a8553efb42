"""The compile stage, after compile(): give generated code objects the
user's names, and find the code objects of compiled functions.

Continuations, lambdas made into defs, generator expressions made into
generators and defs renamed by private name mangling all get the name and
qualified name the user would see (`f`, `C.m`, `<lambda>`), so tracebacks
and reprs read as if the program ran unchanged. The factories that build
continuations with cells disappear from qualified names.
"""

import types

from .names import CAPTURE_VAR


def rename_codes(code: types.CodeType, renames: dict[str, tuple[str, str | None]],
                 factories: set[str]) -> tuple[types.CodeType, frozenset[types.CodeType]]:
    """Return (code with renamed nested code objects, frozenset of the code
    objects of compiled functions and continuations)."""
    compiled = set()
    new = _visit(code, renames, factories, compiled)
    return new, frozenset(compiled)


def _visit(code, renames, factories, compiled):
    consts = []
    changed = False
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            new = _visit(const, renames, factories, compiled)
            changed = changed or new is not const
            const = new
        consts.append(const)
    if changed:
        code = code.replace(co_consts=tuple(consts))
    if code.co_name in renames or any(part in renames or part in factories
                                      for part in code.co_qualname.split(".")):
        name, qualname = renames.get(code.co_name, (code.co_name, None))
        code = code.replace(co_name=name, co_qualname=qualname or _qualname(code.co_qualname, renames, factories))
    if CAPTURE_VAR in code.co_varnames:
        compiled.add(code)
    return code


def _qualname(qualname, renames, factories):
    parts = qualname.split(".")
    out = []
    skip = False
    for part in parts:
        if skip:
            skip = False
            continue
        if part in factories:
            skip = True   # and the `<locals>` after it
            continue
        name, full = renames.get(part, (part, None))
        out.append(full or name)
    return ".".join(out)


def walk_codes(code):
    """Every code object nested in `code` (code included)."""
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from walk_codes(const)
