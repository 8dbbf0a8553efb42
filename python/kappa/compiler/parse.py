"""The parse stage: source text to AST; a syntax error becomes a CompileError."""

import ast

from .errors import CompileError


def parse(source: str, filename: str) -> ast.Module:
    try:
        return ast.parse(source, filename=filename)
    except SyntaxError as err:
        raise CompileError.syntax(filename, err.lineno or 1, err.offset or 1, err.msg) from None
    except ValueError as err:  # e.g. null bytes in the source
        raise CompileError.syntax(filename, 1, 1, str(err)) from None
