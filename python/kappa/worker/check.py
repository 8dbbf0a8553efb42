"""python -m kappa.worker.check < BUNDLE.zip

Checks a directory program's bundle before it is submitted, the way a
worker will load it: the entry and every module compile, and the entry
defines handler(event, context). Errors are one line on stderr (exit 2).
"""

from __future__ import annotations

import ast
import io
import json
import sys
import zipfile

from kappa.__main__ import _entry_defined
from kappa.compiler import CompileError
from kappa.worker.program import REQUIREMENTS, Program, auto_pauses


def main() -> int:
    with zipfile.ZipFile(io.BytesIO(sys.stdin.buffer.read())) as z:
        files = {n: z.read(n) for n in z.namelist() if not n.endswith("/")}
    manifest = json.loads(files.pop("kappa.json"))
    entry = manifest["entry"]
    source = files[entry].decode("utf-8")
    try:
        Program("check", entry, source, {k: v for k, v in files.items() if k != REQUIREMENTS},
                auto_pauses(manifest))
    except CompileError as e:
        print(str(e), file=sys.stderr)
        return 2
    except UnicodeDecodeError as e:
        print(f"a module of the program is not UTF-8 text: {e}", file=sys.stderr)
        return 2
    if not _entry_defined(ast.parse(source)):
        print(f"{entry}: no entry function: define handler(event, context) at module level", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
