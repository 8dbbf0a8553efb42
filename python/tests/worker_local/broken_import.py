"""A handler module that fails to import, for init-error tests."""

raise RuntimeError("this module is broken on purpose")
