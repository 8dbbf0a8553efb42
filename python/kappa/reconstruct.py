"""reconstructor(func, *args, **kwargs): large data that can be derived
again is not copied into checkpoints.

As in the original Kappa's rt.reconstructor: func(*args, **kwargs) is called
now and its result returned, marked so that pickling it saves only "call
func(*args, **kwargs) again" (and unpickling does, giving a value that is
marked again). The result of a user-defined class is marked in place; one
of a supported built-in type (str, bytes, int, float, list, dict, set, …)
comes back as an instance of a subclass of that type, so identity checks
against the original object may fail. Any other result is returned as it
is and pickles normally. func must be picklable by reference (a
module-level function) and should return equal values when called again.
"""

from __future__ import annotations

from collections.abc import Callable

_BUILTINS = (str, bytes, bytearray, int, float, complex, list, dict, set, frozenset, tuple)


class _ReduceAs:
    """A __reduce_ex__ bound to one object: pickle as a call to func."""

    __slots__ = ("spec",)

    def __init__(self, spec):
        self.spec = spec

    def __call__(self, _protocol):
        return (_rebuild, self.spec)


def _rebuild(func, args, kwargs):
    return reconstructor(func, *args, **kwargs)


def _subclass(base: type) -> type:
    def __reduce_ex__(self, _protocol):
        return (_rebuild, self._kappa_spec)
    return type(f"Reconstructed{base.__name__.capitalize()}", (base,),
                {"__reduce_ex__": __reduce_ex__, "__module__": __name__})


# One marked subclass per supported built-in type; instances carry the spec.
_MARKED = {base: _subclass(base) for base in _BUILTINS}


def reconstructor(func: Callable, *args, **kwargs):
    """Returns func(*args, **kwargs), pickled as a call to func again."""
    obj = func(*args, **kwargs)
    spec = (func, args, kwargs)
    marked = _MARKED.get(type(obj))
    if marked is not None:
        obj = marked(obj)
        obj._kappa_spec = spec
        return obj
    try:
        obj.__reduce_ex__ = _ReduceAs(spec)
    except (AttributeError, TypeError):
        pass  # no instance dict (None, bool, slots, C types): pickles as itself
    return obj
