"""Small AST helpers shared by the passes: reserved names, markers, locations.

Markers are plain attributes on AST nodes (`clone` keeps them):
`kappa_pause` on a Call that may pause (set by classify), `kappa_pp` on a
statement that is a suspension point (set by pausepoints) and `kappa_at` on
the call or yield inside it that suspends.

"Suspension" is what a continuation resumes after: a pausing call in a
compiled function, a `yield`/`yield from` in a generator.
"""

import ast

# The runtime module injected into the program's globals.
RUNTIME = "__kappa__"
# Prefix of every name the compiler generates; user names may not use it.
# Generated names also end with "__", so that CPython's private name
# mangling leaves them alone inside classes.
PREFIX = "__k_"


def generated(stem):
    return f"{PREFIX}{stem}__"


REGISTRY = PREFIX + "pp"        # module global: pause-point id -> PausePoint
PENDING = generated("pending")  # module global: copy of the runtime's pending flag
CAPTURE_VAR = generated("cap")   # `except Capture as __k_cap__`
VARS_PARAM = generated("vars")   # continuation parameters
VALUE_PARAM = generated("value")
EXC_PARAM = generated("exc")
SENT_VAR = generated("sent")     # what a resumed generator was sent
SUB_VAR = generated("sub")       # the iterator a resumed `yield from` delegates to
CELLS_VAR = generated("cells")   # a generator's closure cells, for pickling it
RETURN_VAR = generated("rv")     # a return value held while a finally block runs
ONCE_VAR = generated("once")     # single-iteration loop of a partial iteration
CONTINUATION_PARAMS = frozenset({VARS_PARAM, VALUE_PARAM, EXC_PARAM, SENT_VAR})

SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
LOOPS = (ast.For, ast.While, ast.AsyncFor)


def is_reserved(name):
    return name == RUNTIME or name.startswith(PREFIX)


def iterator_name(for_node, taken=()):
    """Name of the iterator of a for loop; the line makes it self-describing
    (`x<n>` tells apart several loops on one line)."""
    name, n = generated(f"it{for_node.lineno}"), 1
    while name in taken:
        n += 1
        name = generated(f"it{for_node.lineno}x{n}")
    return name


def describe_temp(name):
    """What a generated name means, for error messages about live values."""
    if not name.startswith(PREFIX):
        return None
    rest = name[len(PREFIX):].removesuffix("__")
    line = rest[2:].split("x")[0]
    if rest.startswith("it") and line.isdigit():
        return f"the iterator of the for loop at line {line}"
    for prefix, meaning in (("else", "the else-flag of a while loop"),
                            ("mgr", "the context manager of a with statement"),
                            ("exit", "the __exit__ method of a with statement"),
                            ("w", "the state of a try/with block"),
                            ("h", "the exception being handled"),
                            ("sub", "the iterator of a `yield from`")):
        if rest.startswith(prefix) and rest[len(prefix):].isdigit():
            return meaning
    return "a temporary value of the expression"


class Temps:
    """Fresh temporary names for one function."""

    def __init__(self):
        self._n = 0

    def new(self, kind="t"):
        self._n += 1
        return generated(f"{kind}{self._n}")


def is_docstring(stmt):
    return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str))


# -- walking one scope ---------------------------------------------------------------


def scope_children(node):
    """Children of `node` evaluated in node's own scope: a nested def
    contributes its decorators and defaults, a class its decorators, bases
    and keywords, a lambda its defaults, a comprehension its first iterable."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        a = node.args
        return node.decorator_list + a.defaults + [d for d in a.kw_defaults if d is not None]
    if isinstance(node, ast.ClassDef):
        return node.decorator_list + node.bases + [k.value for k in node.keywords]
    if isinstance(node, ast.Lambda):
        return node.args.defaults + [d for d in node.args.kw_defaults if d is not None]
    if isinstance(node, COMPREHENSIONS):
        return [node.generators[0].iter]
    return list(ast.iter_child_nodes(node))


def walk_scope(node):
    """ast.walk that stays in the scope of `node` (see scope_children)."""
    todo = [node]
    while todo:
        n = todo.pop()
        yield n
        todo.extend(scope_children(n))


def is_pausing_call(node):
    return isinstance(node, ast.Call) and getattr(node, "kappa_pause", False)


def is_yield(node):
    return isinstance(node, (ast.Yield, ast.YieldFrom))


def contains_pause(node):
    """True if evaluating `node` in its own scope may pause."""
    return any(is_pausing_call(n) for n in walk_scope(node))


def contains_yield(node):
    return any(is_yield(n) for n in walk_scope(node))


def body_contains(stmts, predicate):
    return any(predicate(s) for s in stmts)


def suspension_of(stmt):
    """The call or yield a flattened suspension statement stops at, else None."""
    return getattr(stmt, "kappa_at", None)


def header_nodes(stmt):
    """The expressions a compound statement evaluates itself (not its body)."""
    if isinstance(stmt, (ast.If, ast.While)):
        return [stmt.test]
    if isinstance(stmt, (ast.For, ast.AsyncFor)):
        return [stmt.iter, stmt.target]
    if isinstance(stmt, (ast.With, ast.AsyncWith)):
        return [x for item in stmt.items for x in (item.context_expr, item.optional_vars) if x]
    if isinstance(stmt, ast.Match):
        return [stmt.subject]
    if isinstance(stmt, (ast.Try, ast.TryStar)):
        return [h.type for h in stmt.handlers if h.type is not None]
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return scope_children(stmt)
    return [stmt]


def child_blocks(stmt):
    """The statement lists nested in a compound statement (same scope)."""
    if isinstance(stmt, (ast.If, ast.For, ast.While, ast.AsyncFor)):
        return [stmt.body, stmt.orelse]
    if isinstance(stmt, (ast.With, ast.AsyncWith)):
        return [stmt.body]
    if isinstance(stmt, (ast.Try, ast.TryStar)):
        return [stmt.body] + [h.body for h in stmt.handlers] + [stmt.orelse, stmt.finalbody]
    if isinstance(stmt, ast.Match):
        return [c.body for c in stmt.cases]
    return []


def all_statements(stmts):
    """Every statement of a block, through compound statements (not scopes)."""
    for stmt in stmts:
        yield stmt
        for block in child_blocks(stmt):
            yield from all_statements(block)


# -- locations -----------------------------------------------------------------------


def at(node, like):
    """Give `node` and its new (location-less) descendants the location of
    `like`. Subtrees that have a location already came from the user's code
    and are left alone (and not walked: this runs for every generated node)."""
    where = (like.lineno, like.col_offset, getattr(like, "end_lineno", None),
             getattr(like, "end_col_offset", None))
    if "lineno" in node._attributes:
        _locate(node, where)
    todo = list(ast.iter_child_nodes(node))
    while todo:
        child = todo.pop()
        if "lineno" in child._attributes:
            if getattr(child, "lineno", None) is not None:
                continue
            _locate(child, where)
        todo.extend(ast.iter_child_nodes(child))
    return node


def _locate(node, where):
    node.lineno, node.col_offset, node.end_lineno, node.end_col_offset = where


def position(node):
    return (node.lineno, node.end_lineno, node.col_offset, node.end_col_offset)


def keyword_range(node, length):
    """A location covering the first `length` characters of `node` (the
    `def`/`lambda` keyword): a range no call in the program has."""
    return ast.Pass(lineno=node.lineno, col_offset=node.col_offset, end_lineno=node.lineno,
                    end_col_offset=node.col_offset + length)


def load(name, like):
    return at(ast.Name(id=name, ctx=ast.Load()), like)


def store(name, like):
    return at(ast.Name(id=name, ctx=ast.Store()), like)


def assign(name, value, like):
    return at(ast.Assign(targets=[store(name, like)], value=value), like)


def runtime_attr(name, like):
    """`__kappa__.name`: what the generated code needs, safe from shadowing."""
    return at(ast.Attribute(value=load(RUNTIME, like), attr=name, ctx=ast.Load()), like)


def drop_own_entry(name, like):
    """`name.__traceback__ = name.__traceback__.tb_next`: a continuation that
    raises a saved exception again to handle or re-raise it takes off the
    traceback entry that raise added, so the traceback reads as it did."""
    tb = lambda ctx: at(ast.Attribute(value=load(name, like), attr="__traceback__", ctx=ctx), like)  # noqa: E731
    return at(ast.Assign(targets=[tb(ast.Store())],
                         value=at(ast.Attribute(value=tb(ast.Load()), attr="tb_next", ctx=ast.Load()), like)), like)


def transparent_raise(name, like):
    """Raise the saved exception `name` without a traceback entry for this
    frame: a bare `raise` adds none (a plain `raise e` would)."""
    handler = at(ast.ExceptHandler(type=runtime_attr("BaseException", like), name=None,
                                   body=[drop_own_entry(name, like), at(ast.Raise(exc=None, cause=None), like)]),
                 like)
    return at(ast.Try(body=[at(ast.Raise(exc=load(name, like), cause=None), like)], handlers=[handler],
                      orelse=[], finalbody=[]), like)


def runtime_call(name, args, like):
    """A call of a runtime helper; it never pauses."""
    call = at(ast.Call(func=runtime_attr(name, like), args=args, keywords=[]), like)
    call.kappa_pause = False
    return call


def plain_call(func, args, like):
    """A generated call that never pauses."""
    call = at(ast.Call(func=func, args=args, keywords=[]), like)
    call.kappa_pause = False
    return call


def clone(node):
    """A deep copy of an AST node or list of nodes, markers included
    (several times faster than copy.deepcopy, which matters: continuations
    copy the rest of a function once per pause point)."""
    if isinstance(node, list):
        return [clone(n) for n in node]
    if not isinstance(node, ast.AST):
        return node
    new = node.__class__.__new__(node.__class__)
    for name, value in node.__dict__.items():
        if isinstance(value, list):
            value = [clone(v) if isinstance(v, ast.AST) else v for v in value]
        elif isinstance(value, ast.AST):
            value = clone(value)
        setattr(new, name, value)
    return new


def replace_node(tree, old, new):
    """Replace the node `old` (by identity) somewhere inside `tree`; returns tree."""
    for parent in ast.walk(tree):
        for field, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, field, new)
                return tree
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if item is old:
                        value[i] = new
                        return tree
    raise ValueError("node not found")


# -- names ---------------------------------------------------------------------------


def loaded_names(node):
    """Every name read anywhere in `node` (over-approximates nested scopes)."""
    return {n.id for n in ast.walk(node)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def mentioned_names(node):
    """Every name used anywhere in `node`, nested scopes included."""
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def stored_names(target):
    """Names bound by an assignment target (Name, Tuple, List, Starred)."""
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, (ast.Tuple, ast.List)):
        out = set()
        for elt in target.elts:
            out |= stored_names(elt)
        return out
    if isinstance(target, ast.Starred):
        return stored_names(target.value)
    return set()


def target_reads(target):
    """Names read while storing into `target` (a[i] reads a and i)."""
    if isinstance(target, ast.Name):
        return set()
    if isinstance(target, (ast.Tuple, ast.List)):
        out = set()
        for elt in target.elts:
            out |= target_reads(elt)
        return out
    if isinstance(target, ast.Starred):
        return target_reads(target.value)
    return loaded_names(target)


# -- loops ---------------------------------------------------------------------------


def loop_exits(stmts):
    """True if `stmts` contain a break/continue bound to the enclosing loop."""
    return any(isinstance(n, (ast.Break, ast.Continue)) for s in stmts for n in same_loop(s))


def same_loop(node):
    """Nodes of `node` whose break/continue bind to the same loop as node's
    (does not enter nested loop bodies or scopes)."""
    todo = [node]
    while todo:
        n = todo.pop()
        yield n
        if isinstance(n, LOOPS):
            todo.extend(n.orelse)  # an else clause's break binds outside
            continue
        if isinstance(n, SCOPES):
            continue
        for block in child_blocks(n):
            todo.extend(block)


def jumps_out(stmts):
    """Break/continue/return statements in `stmts` that leave them: returns
    always, break/continue only if their loop is outside `stmts`."""
    found = []

    def visit(stmt, inside_loop):
        if isinstance(stmt, SCOPES):
            return
        if isinstance(stmt, ast.Return):
            found.append(stmt)
        elif isinstance(stmt, (ast.Break, ast.Continue)) and not inside_loop:
            found.append(stmt)
        if isinstance(stmt, LOOPS):
            for s in stmt.body:
                visit(s, True)
            for s in stmt.orelse:
                visit(s, inside_loop)
            return
        for block in child_blocks(stmt):
            for s in block:
                visit(s, inside_loop)

    for s in stmts:
        visit(s, False)
    return found
