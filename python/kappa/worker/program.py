"""Programs by content hash: fetched from the store, verified, compiled once
per worker process, and imported afresh for every invocation."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

from kappa.compiler import compile_source
from kappa.runtime import load_program
from kappa.store.envelope import TamperedError
from kappa.store.keys import program_key

_cache: dict[str, "Program"] = {}


class Program:
    def __init__(self, program_hash: str, entry: str, source: str):
        self.hash = program_hash
        self.entry = entry
        self.source = source
        self.compiled = compile_source(source, entry)

    def fresh_module(self):
        """Imports the program under its fixed module name, from scratch, so
        no state leaks from an earlier invocation on a warm worker."""
        return load_program(self.compiled, source=self.source)


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
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        manifest = json.loads(z.read("kappa.json"))
        entry = manifest["entry"]
        source = z.read(entry).decode("utf-8")
    return Program(program_hash, entry, source)
