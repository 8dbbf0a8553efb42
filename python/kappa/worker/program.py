"""Programs by content hash: fetched from the store, verified, compiled once
per worker process, and imported afresh for every invocation.

A program is one file, or a directory: the entry module main.py, its own
modules and packages (importable from the entry under their names, each
compiled like the entry), and optionally a requirements.txt installed by
kappa.worker.requirements before the program is imported.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import io
import json
import sys
import zipfile

from kappa.compiler import compile_source
from kappa.runtime import load_program
from kappa.runtime.loader import DEFAULT_MODULE as ENTRY_MODULE
from kappa.runtime.loader import load_module
from kappa.store.envelope import TamperedError
from kappa.store.keys import program_key
from kappa.worker.requirements import install_requirements

REQUIREMENTS = "requirements.txt"

_cache: dict[str, Program] = {}


class Module:
    """One of the program's own modules, compiled. `program_modules`: the
    top-level names of the program's modules, whose functions may pause."""

    def __init__(self, name: str, path: str, source: str, package: bool, auto_pauses: bool = True,
                 program_modules: frozenset = frozenset()):
        self.name, self.path, self.source, self.package = name, path, source, package
        self.compiled = compile_source(source, path, auto_pauses=auto_pauses, program_modules=program_modules)


class Program:
    def __init__(self, program_hash: str, entry: str, source: str, files: dict[str, bytes] | None = None,
                 auto_pauses: bool = True):
        self.hash = program_hash
        self.entry = entry
        self.source = source
        files = files or {}
        self.modules = _modules(files, entry, auto_pauses)
        self.compiled = Module(ENTRY_MODULE, entry, source, False, auto_pauses, _roots(self.modules)).compiled
        self.site_dir = None
        if REQUIREMENTS in files:
            self.site_dir = install_requirements(files[REQUIREMENTS].decode("utf-8"), files)

    def fresh_module(self, restoring: bool = False):
        """Imports the program under its fixed module name, from scratch, so
        no state leaks from an earlier invocation on a warm worker: its own
        modules are imported afresh too, when the entry imports them. Before
        a restore every module is imported, since the checkpoint may hold
        frames or state of a module the entry imports only later."""
        _finder.use(self)
        if self.site_dir and self.site_dir not in sys.path:
            sys.path.insert(0, self.site_dir)
        module = load_program(self.compiled, source=self.source)
        if restoring:
            for name in sorted(self.modules):
                importlib.import_module(name)
        return module


def _modules(files: dict[str, bytes], entry: str, auto_pauses: bool = True) -> dict[str, Module]:
    """Maps module names to the bundle's .py files other than the entry,
    compiled: a.py → a, pkg/__init__.py → pkg, pkg/b.py → pkg.b. A
    directory of modules without an __init__.py is a namespace package, as
    it is for a script: an empty package here."""
    found = {}   # name -> (path, source, package)
    for path, data in files.items():
        if path == entry or not path.endswith(".py"):
            continue
        parts = path[:-3].split("/")
        package = parts[-1] == "__init__"
        if package:
            parts = parts[:-1]
        if not parts or not all(p.isidentifier() for p in parts):
            continue  # not importable by name (e.g. a script with a dash): left alone
        found[".".join(parts)] = (path, data.decode("utf-8"), package)
    for name in list(found):
        parts = name.split(".")
        for i in range(1, len(parts)):
            found.setdefault(".".join(parts[:i]), ("/".join(parts[:i]) + "/", "", True))
    roots = _roots(found)
    return {name: Module(name, path, source, package, auto_pauses, roots)
            for name, (path, source, package) in found.items()}


def _roots(modules) -> frozenset:
    return frozenset(name.split(".", 1)[0] for name in modules)


class _ProgramFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports the current program's own modules from its bundle, compiled.
    It sits first on sys.meta_path, as a script's directory is first on
    sys.path, so the program's modules win over installed ones of the same
    name."""

    def __init__(self):
        self.program: Program | None = None
        self.loaded: set[str] = set()

    def use(self, program: Program) -> None:
        # Forget the modules of the last invocation, so the entry's imports
        # load them afresh.
        for name in self.loaded:
            sys.modules.pop(name, None)
        self.loaded.clear()
        self.program = program
        if self not in sys.meta_path:
            sys.meta_path.insert(0, self)

    def find_spec(self, fullname, path=None, target=None):
        mod = self.program.modules.get(fullname) if self.program else None
        if mod is None:
            return None
        # A package's spec gets submodule_search_locations, so importlib
        # gives its module a __path__ (`import pkg.sub` needs one) and
        # __package__ = its name (relative imports in __init__ need it).
        return importlib.machinery.ModuleSpec(fullname, self, origin=mod.path, is_package=mod.package)

    def create_module(self, spec):
        return None   # importlib's module, with the spec's attributes

    def exec_module(self, module):
        mod = self.program.modules[module.__name__]
        self.loaded.add(mod.name)
        load_module(mod.compiled, module, sys.modules[ENTRY_MODULE], source=mod.source)


_finder = _ProgramFinder()


def load(store, program_hash: str) -> Program:
    prog = _cache.get(program_hash)
    if prog is None:
        prog = _fetch(store, program_hash)
        _cache[program_hash] = prog
    return prog


def _fetch(store, program_hash: str) -> Program:
    key = program_key(program_hash)
    data = store.get(key)
    got = hashlib.sha256(data).hexdigest()
    if got != program_hash:
        raise TamperedError(f"program bundle {key} has hash {got}, but the job pins {program_hash}")
    return from_bundle(program_hash, data)


def from_bundle(program_hash: str, data: bytes) -> Program:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        files = {name: z.read(name) for name in z.namelist() if not name.endswith("/")}
    manifest = json.loads(files.pop("kappa.json"))
    entry = manifest["entry"]
    return Program(program_hash, entry, files[entry].decode("utf-8"), files, auto_pauses(manifest))


def auto_pauses(manifest: dict) -> bool:
    """Whether the job's program is compiled with automatic pause points
    (`kappa run --no-auto-pauses` turns them off in the bundle's manifest)."""
    return not manifest.get("no_auto_pauses", False)
