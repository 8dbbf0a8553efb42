"""The local-directory checkpoint store (the embedded default).

Same semantics as checkpoint/dir.go: a key is a file under the root; writes
are create-only and durable (an unnamed file, or a temporary one where the
filesystem has none; fsync; a hard link to the key; fsync of the
directory), so no call is sent before its checkpoint is on disk.
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
        # Unnamed files (O_TMPFILE) until the filesystem refuses one.
        self._tmpfile = hasattr(os, "O_TMPFILE")
        self._dirs: dict[str, int] = {}

    def close(self) -> None:
        for fd in self._dirs.values():
            os.close(fd)
        self._dirs.clear()

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
        dir_fd = self._dir_fd(directory)
        if not self._put_unnamed(key, path, directory, dir_fd, data):
            self._put_via_temporary(key, path, directory, data)
        os.fsync(dir_fd)

    def _put_unnamed(self, key: str, path: str, directory: str, dir_fd: int, data: bytes) -> bool:
        """Writes data to an unnamed file (O_TMPFILE), then names it: no
        name to create and remove around the write. False where the
        filesystem (or a missing /proc) does not allow it."""
        if not self._tmpfile:
            return False
        try:
            fd = os.open(directory, os.O_TMPFILE | os.O_WRONLY, 0o600)
        except OSError:
            self._tmpfile = False
            return False
        try:
            _write_all(fd, data)
            os.fsync(fd)
            # Named only now, whole and on disk; an existing key is never
            # replaced. (A directory fd makes os.link use linkat, which
            # follows the /proc link to the open file.)
            os.link(f"/proc/self/fd/{fd}", os.path.basename(path), dst_dir_fd=dir_fd, follow_symlinks=True)
        except FileExistsError:
            raise KeyExistsError(key) from None
        except OSError:
            self._tmpfile = False
            return False
        finally:
            os.close(fd)
        return True

    def _put_via_temporary(self, key: str, path: str, directory: str, data: bytes) -> None:
        tmp = os.path.join(directory, f".put-{os.getpid()}-{os.urandom(6).hex()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            try:
                _write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise KeyExistsError(key) from None
        finally:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass

    def _dir_fd(self, directory: str) -> int:
        """An open descriptor of directory, for its fsync: a task writes
        into the same directory call after call, so the last few stay open."""
        fd = self._dirs.pop(directory, None)
        if fd is not None and os.fstat(fd).st_ino != os.stat(directory).st_ino:
            os.close(fd)  # the directory was replaced: sync the one named now
            fd = None
        if fd is None:
            fd = os.open(directory, os.O_RDONLY)
            if len(self._dirs) >= _OPEN_DIRS:
                os.close(self._dirs.pop(next(iter(self._dirs))))
        self._dirs[directory] = fd  # most recent last
        return fd

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


# Directory descriptors a store keeps open for fsyncs.
_OPEN_DIRS = 4


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
