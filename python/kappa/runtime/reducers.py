"""How program objects that pickle cannot handle are saved in a checkpoint.

- A module: by name, imported again on load.
- A function of the program that is not reachable by its qualified name
  (a nested function, a lambda, a closure, a decorated original): by the
  position of its code object in the program's code, with its closure
  cells, defaults and attributes.
- A cell: as a cell, so two closures sharing it still share it.
- A class defined inside a function: by value (name, bases, attributes),
  and the classmethods, staticmethods and properties in it.
- A generator of the program: see generators.py.
- An exception: rebuilt without running its class's __init__ (a custom
  one would run again on its stored args: `Transient(attempt)` that calls
  `super().__init__(f"failure {attempt}")` would get "failure failure 1"),
  with its attributes, notes, __cause__, __context__ and
  __suppress_context__. Its traceback keeps the program's frames as
  (file, line, function) and is rebuilt from stand-in frames of the same
  names, so a user's traceback printed after a restore reads the same.
"""

import importlib
import sys
import types

from .core import Capture
from .generators import is_program_generator, reduce_generator


def _module_by_name(module):
    return importlib.import_module, (module.__name__,)


def _lookup(module, qualname):
    obj = module
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _reduce_function(fn):
    glb = fn.__globals__
    sites = glb.get("__k_sites")
    if sites is None:
        return NotImplemented
    name = glb.get("__name__")
    module = sys.modules.get(name)
    by_name = ("<locals>" not in fn.__qualname__ and module is not None
               and _lookup(module, fn.__qualname__) is fn and set(fn.__code__.co_freevars) <= {"__class__"})
    if by_name:
        return NotImplemented
    path = sites.code_path(fn.__code__)
    if path is None:
        return NotImplemented
    state = (fn.__name__, fn.__qualname__, fn.__defaults__, fn.__kwdefaults__, fn.__dict__ or None,
             fn.__doc__)
    return make_function, (name, path, fn.__closure__), state, None, None, _set_function_state


def make_function(module_name, path, closure):
    module = sys.modules[module_name]
    code = module.__dict__["__k_sites"].code_at(path)
    return types.FunctionType(code, module.__dict__, code.co_name, None, closure)


def _set_function_state(fn, state):
    fn.__name__, fn.__qualname__, fn.__defaults__, fn.__kwdefaults__, attrs, fn.__doc__ = state
    if attrs:
        fn.__dict__.update(attrs)


def _reduce_cell(cell):
    try:
        state = (cell.cell_contents,)
    except ValueError:   # empty
        state = None
    return make_cell, (), state, None, None, _set_cell


def make_cell():
    return types.CellType()


def _set_cell(cell, state):
    cell.cell_contents = state[0]


def _reduce_class(cls):
    module = sys.modules.get(cls.__module__)
    if module is None or "__k_sites" not in module.__dict__ or _lookup(module, cls.__qualname__) is cls:
        return NotImplemented
    namespace = {"__module__": cls.__module__, "__qualname__": cls.__qualname__}
    if "__slots__" in cls.__dict__:
        namespace["__slots__"] = cls.__dict__["__slots__"]
    skip = set(namespace) | {"__dict__", "__weakref__"} | set(namespace.get("__slots__", ()))
    attrs = {k: v for k, v in cls.__dict__.items() if k not in skip}
    return make_class, (cls.__name__, cls.__bases__, namespace), attrs, None, None, _set_class_state


def make_class(name, bases, namespace):
    return type(name, bases, dict(namespace))


def _set_class_state(cls, attrs):
    for name, value in attrs.items():
        setattr(cls, name, value)


def _reduce_generator(gen):
    if gen.gi_frame is None or is_program_generator(gen):   # a finished one has no state left
        return reduce_generator(gen)
    return NotImplemented


def _reduce_exception(exc):
    if isinstance(exc, Capture):
        raise TypeError("a pause in progress (Capture) cannot be saved")
    base = _builtin_base(type(exc))
    if type(exc).__reduce__ is not base.__reduce__ or type(exc).__reduce_ex__ is not base.__reduce_ex__:
        return NotImplemented   # the class says how it pickles
    reduced = exc.__reduce__()  # (class, the args the builtin base keeps, attributes)
    attrs = reduced[2] if len(reduced) > 2 else None
    context = exc.__context__ if not isinstance(exc.__context__, Capture) else None
    state = (attrs, exc.__cause__, context, exc.__suppress_context__, _program_entries(exc.__traceback__))
    return make_exception, (type(exc), base, reduced[1]), state, None, None, _set_exception_state


def _builtin_base(cls):
    return next(c for c in cls.__mro__ if c.__module__ == "builtins")


def make_exception(cls, base, args):
    """The exception as the builtin base alone would make it from `args`."""
    exc = base.__new__(cls, *args)
    base.__init__(exc, *args)
    return exc


def _set_exception_state(exc, state):
    attrs, exc.__cause__, exc.__context__, suppress, entries = state
    exc.__suppress_context__ = suppress   # after __cause__, which sets it
    exc.__traceback__ = _rebuild_traceback(entries)
    for name, value in (attrs or {}).items():
        object.__setattr__(exc, name, value)   # no user __setattr__; C fields (ImportError.name) too


def _program_entries(tb):
    """((module name, file, function, line), ...) of the program's frames."""
    out = []
    while tb is not None:
        glb = tb.tb_frame.f_globals
        if "__k_sites" in glb:
            code = tb.tb_frame.f_code
            out.append((glb.get("__name__"), code.co_filename, code.co_name, tb.tb_lineno))
        tb = tb.tb_next
    return tuple(out)


def _stand_in_frame(get_frame=sys._getframe):
    return get_frame()


def _rebuild_traceback(entries):
    tb = None
    for module_name, filename, name, line in reversed(entries):
        module = sys.modules.get(module_name)
        if module is None:
            continue
        code = _stand_in_frame.__code__.replace(co_filename=filename, co_name=name, co_qualname=name)
        frame = types.FunctionType(code, module.__dict__, name, (sys._getframe,))()
        tb = types.TracebackType(tb, frame, -1, line)
    return tb


REDUCERS = {
    types.ModuleType: _module_by_name,
    types.FunctionType: _reduce_function,
    types.CellType: _reduce_cell,
    types.GeneratorType: _reduce_generator,
    type: _reduce_class,
    classmethod: lambda m: (classmethod, (m.__func__,)),
    staticmethod: lambda m: (staticmethod, (m.__func__,)),
    property: lambda p: (property, (p.fget, p.fset, p.fdel, p.__doc__)),
}


def reducer_override(obj):
    reduce = REDUCERS.get(type(obj))
    if reduce is not None:
        return reduce(obj)
    if isinstance(obj, BaseException):
        return _reduce_exception(obj)
    return NotImplemented
