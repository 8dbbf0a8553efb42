"""Small AST helpers shared by the passes: reserved names, markers, locations.

Markers are plain attributes on AST nodes (copy.deepcopy keeps them):
`kappa_pause` on a Call that may pause (set by classify), and `kappa_pp` on a
statement that is a pause point (set by pausepoints).
"""

import ast

# The runtime module injected into the program's globals.
RUNTIME = "__kappa__"
# Prefix of every name the compiler generates; user names may not use it.
PREFIX = "__k_"
REGISTRY = PREFIX + "pp"        # module global: pause-point id -> PausePoint
PENDING = PREFIX + "pending"    # module global: copy of the runtime's pending flag
CAPTURE_VAR = PREFIX + "cap"     # `except Capture as __k_cap`
VARS_PARAM = PREFIX + "vars"     # continuation parameters
VALUE_PARAM = PREFIX + "value"
EXC_PARAM = PREFIX + "exc"
ONCE_VAR = PREFIX + "once"       # single-iteration loop of a partial iteration


def is_reserved(name):
    return name == RUNTIME or name.startswith(PREFIX)


def iterator_name(for_node):
    """Name of the iterator of a for loop; the line makes it self-describing."""
    return f"{PREFIX}it{for_node.lineno}"


def describe_temp(name):
    """What a generated name means, for error messages about live values."""
    if name.startswith(PREFIX + "it") and name[len(PREFIX) + 2:].isdigit():
        return f"the iterator of the for loop at line {name[len(PREFIX) + 2:]}"
    if name.startswith(PREFIX + "else"):
        return "the else-flag of a while loop"
    if name.startswith(PREFIX):
        return "a temporary value of the expression"
    return None


class Temps:
    """Fresh temporary names for one function."""

    def __init__(self):
        self._n = 0

    def new(self, kind="t"):
        self._n += 1
        return f"{PREFIX}{kind}{self._n}"


def is_docstring(stmt):
    return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str))


def is_pausing_call(node):
    return isinstance(node, ast.Call) and getattr(node, "kappa_pause", False)


def contains_pause(node):
    return any(is_pausing_call(n) for n in ast.walk(node))


def pause_call_of(stmt):
    """The pausing call of a flattened pause statement, else None.

    After flattening, a pause point is `call(...)` or `name = call(...)`.
    """
    if isinstance(stmt, ast.Expr) and is_pausing_call(stmt.value):
        return stmt.value
    if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
            and is_pausing_call(stmt.value)):
        return stmt.value
    return None


def pause_target_of(stmt):
    """The name a pause statement assigns, or None."""
    if isinstance(stmt, ast.Assign):
        return stmt.targets[0].id
    return None


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


def load(name, like):
    return at(ast.Name(id=name, ctx=ast.Load()), like)


def store(name, like):
    return at(ast.Name(id=name, ctx=ast.Store()), like)


def assign(name, value, like):
    return at(ast.Assign(targets=[store(name, like)], value=value), like)


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


def loaded_names(node):
    """Every name read anywhere in `node` (over-approximates nested scopes)."""
    return {n.id for n in ast.walk(node)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


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


def loop_exits(stmts):
    """True if `stmts` contain a break/continue bound to the enclosing loop."""
    for stmt in stmts:
        for node in _walk_same_loop(stmt):
            if isinstance(node, (ast.Break, ast.Continue)):
                return True
    return False


def _walk_same_loop(node):
    """ast.walk that does not enter nested loop bodies (their exits are theirs)."""
    todo = [node]
    while todo:
        n = todo.pop()
        yield n
        if isinstance(n, (ast.For, ast.While, ast.AsyncFor)):
            todo.extend(n.orelse)  # an else clause's break binds outside
            continue
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        todo.extend(c for c in ast.iter_child_nodes(n) if isinstance(c, ast.stmt))
