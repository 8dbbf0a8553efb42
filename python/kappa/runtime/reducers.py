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
"""

import importlib
import sys
import types

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
    return NotImplemented if reduce is None else reduce(obj)
