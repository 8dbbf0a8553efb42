"""The program's own state, besides its stack: what a fresh import of the
program would not re-create.

- Module globals, except modules, the program's classes and plain
  functions (a re-import makes those again) and runtime names. A closure
  bound at module level (a decorated function) is kept: its cells are state.
- The data attributes of the program's classes (class-level counters and
  registries).
- The default values and attributes of the program's module-level
  functions and methods (a mutable default argument, `f.calls = 0`).
  (Nested functions and closures are saved by value, with all of that.)

On restore, the fresh module gets them back: globals are set, class and
function attributes and defaults are set on the re-created classes and
functions.

A directory program's other modules (helpers, packages) have state by
the same rules: each joins the entry (join_program), and a checkpoint
holds the state of the entry and of every joined module, keyed by module
name, in one pickle (an object two modules share stays one object).

A class attribute, default or function attribute that cannot be pickled
(a lock, `out=sys.stdout`, ABC internals) is left to the re-import, which
makes it as the program's import did: `unsaveable` finds them after a
failed dump, and the module remembers them (by identity) for later
checkpoints. Globals and frame variables are never skipped: such a value
is an error naming it.
"""

import enum
import types

_RUNTIME_NAMES = ("__kappa__",)
_CODE_LIKE = (types.FunctionType, staticmethod, classmethod, property, types.ModuleType,
              types.BuiltinFunctionType, types.MethodType, type)
_ATOMS = (type(None), bool, int, float, complex, str, bytes)   # a default the import makes the same
_CLASS_INTERNALS = frozenset({"_abc_impl"})   # abc's registry cache: C data, re-made by the class statement
_UNSAVED = "__k_unsaved"   # module global: {(owner, key): id(value)} left to the re-import
_MODULES = "__k_modules"   # entry module global: {name: module} of the program's other modules


def join_program(entry, module):
    """Count `module`, one of the program's own modules, in the program
    whose entry module is `entry`: its state is saved with the entry's."""
    if module is not entry:
        entry.__dict__.setdefault(_MODULES, {})[module.__name__] = module


def own_modules(entry):
    """{name: module} of the modules that joined `entry`'s program."""
    return dict(entry.__dict__.get(_MODULES, {}))


def _is_dunder(name):
    return name.startswith("__") and name.endswith("__")


def _own_plain_function(value, own):
    return (isinstance(value, types.FunctionType) and value.__module__ == own and value.__closure__ is None
            and "<locals>" not in value.__qualname__)


def program_globals(module):
    """The module globals a re-import would not re-create."""
    own = module.__name__
    out = {}
    for name, value in module.__dict__.items():
        if _is_dunder(name) or name.startswith("__k_") or name in _RUNTIME_NAMES:
            continue
        if isinstance(value, types.ModuleType) or (isinstance(value, type) and value.__module__ == own):
            continue
        if _own_plain_function(value, own):
            continue
        out[name] = value
    return out


def _program_classes(module):
    """The program's classes reachable from its globals (nested ones too)."""
    own = module.__name__
    todo = [v for v in module.__dict__.values() if isinstance(v, type) and v.__module__ == own]
    seen = {}
    while todo:
        cls = todo.pop()
        if id(cls) in seen or "<locals>" in cls.__qualname__:
            continue
        seen[id(cls)] = cls
        todo.extend(v for v in vars(cls).values() if isinstance(v, type) and v.__module__ == own)
    return list(seen.values())


def _functions_of(module):
    """(qualname, function) for the program's plain functions and methods."""
    own = module.__name__
    for value in list(module.__dict__.values()):
        if _own_plain_function(value, own):
            yield value.__qualname__, value
    for cls in _program_classes(module):
        for value in vars(cls).values():
            fn = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
            if _own_plain_function(fn, own):
                yield fn.__qualname__, fn


def _is_descriptor(value):
    """A slot or other C-level descriptor (re-created by the class statement)."""
    return hasattr(type(value), "__get__") and type(value).__module__ == "builtins"


def class_attributes(module):
    """{class qualname: {attribute: value}} for data attributes."""
    out = {}
    for cls in _program_classes(module):
        if isinstance(cls, enum.EnumMeta):
            continue
        attrs = {name: value for name, value in vars(cls).items()
                 if not _is_dunder(name) and name not in _CLASS_INTERNALS
                 and not isinstance(value, _CODE_LIKE) and not _is_descriptor(value)}
        if attrs:
            out[cls.__qualname__] = attrs
    return out


def function_attributes(module):
    """{function qualname: {key: value}}: attributes by name, defaults as
    ('default', position) and ('kwdefault', name); defaults the import
    re-creates equal (None, numbers, strings) are left out."""
    out = {}
    for qualname, fn in _functions_of(module):
        attrs = {k: v for k, v in fn.__dict__.items() if k != "__wrapped__"}
        for i, value in enumerate(fn.__defaults__ or ()):
            if not isinstance(value, _ATOMS):
                attrs[("default", i)] = value
        for name, value in (fn.__kwdefaults__ or {}).items():
            if not isinstance(value, _ATOMS):
                attrs[("kwdefault", name)] = value
        if attrs:
            out[qualname] = attrs
    return out


def capture_program(module):
    """The program's state (see the module docstring), less what it
    already knows cannot be saved."""
    program = {"globals": program_globals(module), "classes": class_attributes(module),
               "functions": function_attributes(module)}
    unsaved = module.__dict__.get(_UNSAVED)
    if unsaved:
        for owner, attrs in _attached(program):
            for key in [k for k, v in attrs.items() if unsaved.get((owner, k)) == id(v)]:
                del attrs[key]
    return program


def _attached(program):
    """(owner qualname, {key: value}) of class and function state."""
    return list(program["classes"].items()) + list(program["functions"].items())


def unsaveable(module, program, fails):
    """After a failed dump: drop from `program` the class and function
    state that does not pickle (`fails(value)` says), remember it in the
    module, and say whether anything was dropped."""
    unsaved = module.__dict__.setdefault(_UNSAVED, {})
    dropped = False
    for owner, attrs in _attached(program):
        for key, value in list(attrs.items()):
            if fails(value):
                unsaved[(owner, key)] = id(value)
                del attrs[key]
                dropped = True
    return dropped


def describe_key(owner, key):
    if isinstance(key, tuple):
        kind, which = key
        return f"default of parameter {which} of '{owner}'" if kind == "kwdefault" else \
            f"default #{which + 1} of '{owner}'"
    return f"attribute '{owner}.{key}'"


def _lookup(module, qualname):
    """The class or function at `qualname`, through class namespaces
    (a classmethod's function, not a bound method)."""
    obj = module
    for part in qualname.split("."):
        obj = vars(obj).get(part) if isinstance(obj, type) else getattr(obj, part, None)
        if isinstance(obj, (staticmethod, classmethod)):
            obj = obj.__func__
        if obj is None:
            return None
    return obj


def restore_program(module, program):
    module.__dict__.update(program["globals"])
    for qualname, attrs in program["classes"].items():
        cls = _lookup(module, qualname)
        if isinstance(cls, type):
            for name, value in attrs.items():
                setattr(cls, name, value)
    for qualname, attrs in program["functions"].items():
        fn = _lookup(module, qualname)
        if isinstance(fn, types.FunctionType):
            _restore_function(fn, attrs)


def _restore_function(fn, attrs):
    defaults, kwdefaults = list(fn.__defaults__ or ()), dict(fn.__kwdefaults__ or {})
    for key, value in attrs.items():
        if not isinstance(key, tuple):
            setattr(fn, key, value)
        elif key[0] == "default" and key[1] < len(defaults):
            defaults[key[1]] = value
        elif key[0] == "kwdefault":
            kwdefaults[key[1]] = value
    fn.__defaults__ = tuple(defaults) or None
    fn.__kwdefaults__ = kwdefaults or None
