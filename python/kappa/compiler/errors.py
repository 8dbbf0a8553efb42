"""Errors the compiler reports to the user.

Every error is one line that names the place in the user's file, so that
`kappa compile` and `kappa run` can print it as is.
"""


class CompileError(Exception):
    """A program the compiler cannot transform.

    `line` is 1-based, `col` is 1-based (like most compilers print them).
    `construct` is None for a syntax error; then `hint` holds the message.
    """

    def __init__(self, filename, line, col, construct, hint):
        self.filename = filename
        self.line = line
        self.col = col
        self.construct = construct
        self.hint = hint
        super().__init__(self._format())

    @classmethod
    def syntax(cls, filename, line, col, msg):
        return cls(filename, line, col, None, msg)

    @classmethod
    def at(cls, filename, node, construct, hint):
        """An unsupported construct at an AST node (ast columns are 0-based)."""
        return cls(filename, node.lineno, node.col_offset + 1, construct, hint)

    @property
    def is_syntax_error(self):
        return self.construct is None

    def _format(self):
        where = f"{self.filename}:{self.line}:{self.col}"
        if self.construct is None:
            return f"{where}: syntax error: {self.hint}"
        return f"{where}: unsupported construct: {self.construct} ({self.hint})"

    def __str__(self):
        return self._format()
