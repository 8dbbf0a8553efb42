"""The local-directory checkpoint store (the embedded default).

Same semantics as checkpoint/dir.go: a key is a file under the root; writes
are create-only and durable (temporary file, fsync, hard link to the key,
fsync of the directory), so no call is sent before its checkpoint is on disk.
"""

from __future__ import annotations

import os
import re

_KEY = re.compile(r"^[A-Za-z0-9_\-.]+(/[A-Za-z0-9_\-.]+)*$")


class KeyExistsError(Exception):
    """The key was written before; keys are create-only."""


class KeyNotFoundError(Exception):
    """No value is stored under the key."""


def check_key(key: str) -> None:
    if not key or len(key) > 512 or not _KEY.match(key) or any(
            p in (".", "..") or p.startswith(".") for p in key.split("/")):
        raise ValueError(f"invalid store key {key!r}")


class DirStore:
    """Files 0600 and directories 0700: checkpoints hold a program's state."""

    def __init__(self, root: str):
        self.root = os.path.abspath(root)
        os.makedirs(self.root, mode=0o700, exist_ok=True)

    @property
    def url(self) -> str:
        return "file://" + self.root

    def _path(self, key: str) -> str:
        check_key(key)
        return os.path.join(self.root, *key.split("/"))

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        directory = os.path.dirname(path)
        self._mkdir_durable(directory)
        tmp = os.path.join(directory, f".put-{os.getpid()}-{os.urandom(6).hex()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise KeyExistsError(key) from None
        finally:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        _fsync_dir(directory)

    def _mkdir_durable(self, directory: str) -> None:
        if os.path.isdir(directory):
            return
        parent = os.path.dirname(directory)
        if parent != directory and parent.startswith(self.root):
            self._mkdir_durable(parent)
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            pass
        _fsync_dir(parent)

    def get(self, key: str) -> bytes:
        try:
            with open(self._path(key), "rb") as f:
                return f.read()
        except FileNotFoundError:
            raise KeyNotFoundError(key) from None

    def exists(self, key: str) -> bool:
        return os.path.exists(self._path(key))

    def delete(self, key: str) -> None:
        try:
            os.unlink(self._path(key))
        except FileNotFoundError:
            pass


def _fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
