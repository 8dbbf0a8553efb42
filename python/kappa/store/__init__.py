"""Checkpoint storage as the Python runtime sees it."""

from __future__ import annotations

from urllib.parse import urlparse

from .dirstore import DirStore, KeyExistsError, KeyNotFoundError

__all__ = ["open_store", "DirStore", "KeyExistsError", "KeyNotFoundError"]

_cache: dict[str, object] = {}


def open_store(url: str):
    """Opens a store by URL (file:///dir, or a plain path); cached per URL so
    a warm worker reuses it."""
    store = _cache.get(url)
    if store is None:
        store = _open(url)
        _cache[url] = store
    return store


def _open(url: str):
    if "://" not in url:
        return DirStore(url)
    u = urlparse(url)
    if u.scheme == "file":
        if u.netloc not in ("", "localhost"):
            raise ValueError(f"store URL {url!r} names host {u.netloc!r}; use file:///absolute/path")
        return DirStore(u.path)
    raise ValueError(f"store URL {url!r}: unsupported scheme {u.scheme!r} (supported: file://)")
