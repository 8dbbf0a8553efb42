"""python -m kappa compile [--no-auto-pauses] FILE | check [--no-auto-pauses] FILE

`compile` prints the transformed source; `check` only reports whether the
program compiles and defines its entry function. --no-auto-pauses compiles
without automatic pause points (only checkpoint() and Kappa calls pause). Errors are one line on
stderr (file:line:col, the construct, what to do) and exit code 2.
"""

from __future__ import annotations

import argparse
import ast
import sys


def _entry_defined(tree: ast.Module) -> bool:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "handler":
            return True
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "handler" for t in node.targets):
            return True
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any(
                (a.asname or a.name) == "handler" for a in node.names):
            return True
    return False


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kappa")
    parser.add_argument("command", choices=["compile", "check"])
    parser.add_argument("program")
    parser.add_argument("--no-auto-pauses", action="store_true",
                        help="no automatic pause points: only checkpoint() and Kappa calls pause")
    args = parser.parse_args(argv)
    from kappa.compiler import CompileError, compile_source
    try:
        with open(args.program, encoding="utf-8") as f:
            source = f.read()
    except OSError as e:
        print(f"{args.program}: cannot read the program: {e.strerror}", file=sys.stderr)
        return 2
    try:
        compiled = compile_source(source, args.program, auto_pauses=not args.no_auto_pauses)
    except CompileError as e:
        print(str(e), file=sys.stderr)
        return 2
    if args.command == "check":
        if not _entry_defined(ast.parse(source)):
            print(f"{args.program}: no entry function: define handler(event, context) at module level", file=sys.stderr)
            return 2
        return 0
    sys.stdout.write(compiled.source)
    if not compiled.source.endswith("\n"):
        sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
