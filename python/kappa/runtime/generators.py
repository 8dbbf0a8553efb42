"""Generators of compiled programs, pickled between items.

CPython cannot pickle a generator's frame, but a compiled program's
generator is suspended at one of its yields, each with a known source
position, and its live variables are in `gi_frame.f_locals`. So a
generator pickles as (yield point, live variables, cells, the iterator a
`yield from` delegates to), and unpickles as the continuation of that yield
point: a generator that restores the variables and stops at a yield in the
same place, ready to go on with whatever it is sent next.
"""

import sys


class Delegate:
    """What a resumed `yield from` delegates to: the same iterator, whose
    first step gets what the restored generator was sent (or thrown)."""

    def __init__(self, sub, first):
        self.sub = sub
        self.first = first    # (value sent, exception thrown); one is None

    def __iter__(self):
        return self

    def __next__(self):
        return self.send(None)

    def send(self, value):
        if self.first is not None:
            value, thrown = self.first
            self.first = None
            if thrown is not None:
                return self.throw(thrown)
        if value is None:
            return next(self.sub)
        return self.sub.send(value)

    def throw(self, exc):
        self.first = None
        if isinstance(exc, GeneratorExit):   # PEP 380: close the iterator, then leave
            self.close()
            raise exc
        throw = getattr(self.sub, "throw", None)
        if throw is None:
            raise exc
        return throw(exc)

    def close(self):
        close = getattr(self.sub, "close", None)
        if close is not None:
            close()


def _program(gen):
    frame = gen.gi_frame
    return frame.f_globals if frame is not None else None


def is_program_generator(gen):
    glb = _program(gen)
    return glb is not None and "__k_sites" in glb


def reduce_generator(gen):
    """The pickle reduction of a suspended generator of a compiled program."""
    frame = gen.gi_frame
    if frame is None:
        return exhausted, ()
    if gen.gi_running:
        raise TypeError(f"generator '{gen.__qualname__}' is running: a pause inside a generator body "
                        f"cannot be checkpointed")
    glb = frame.f_globals
    sites, registry = glb["__k_sites"], glb["__k_pp"]
    local_vars = frame.f_locals
    if gen.gi_suspended:
        pp_id = sites.yield_id(gen.gi_code, frame.f_lasti)
    else:   # created, not started: its entry
        pp_id = _entry_of(sites, gen.gi_code)
    if pp_id is None:
        raise TypeError(f"generator '{gen.__qualname__}' is not stopped at a known yield")
    pp = registry[pp_id]
    saved = {name: local_vars[name] for name in pp.live if name in local_vars}
    if pp.kind == "yieldfrom":
        sub = gen.gi_yieldfrom
        if isinstance(sub, Delegate):
            sub = sub.sub
        if sub is not None:
            saved["__k_sub__"] = sub
    cells = {}
    holder = local_vars.get("__k_cells__")
    if holder is not None:
        by_name = dict(zip(holder.__code__.co_freevars, holder.__closure__))
        cells = {name: by_name[name] for name in pp.cells if name in by_name}
    return resume_generator, (glb["__name__"], pp_id, saved, cells)


def _entry_of(sites, code):
    """A generator not started yet: the entry of the function its code is
    (found through any of its yields)."""
    for pos in code.co_positions():
        pp_id = sites.yield_at.get(pos)
        if pp_id is not None:
            return pp_id.rsplit(":", 1)[0] + ":0"
    return None


def resume_generator(module_name, pp_id, saved, cells):
    """Rebuild a generator at a yield point (the unpickling side)."""
    module = sys.modules[module_name]
    pp = module.__dict__["__k_pp"][pp_id]
    gen = pp.continuation(cells)(saved)
    if pp.kind != "genentry":
        next(gen)   # up to the yield that stands for the one it was suspended at
    return gen


def exhausted():
    """A finished generator."""
    gen = _finished()
    for _ in gen:
        pass
    return gen


def _finished():
    return
    yield
