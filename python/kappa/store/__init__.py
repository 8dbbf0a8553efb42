"""Checkpoint storage as the Python runtime sees it."""

from __future__ import annotations

from urllib.parse import urlparse

from .dirstore import DirStore, KeyExistsError, KeyNotFoundError

__all__ = ["open_store", "DirStore", "KeyExistsError", "KeyNotFoundError"]

_cache: dict[str, object] = {}


def open_store(url: str):
    """Opens a store by URL (file:///dir or a plain path, redis://…,
    rediss://…); cached per URL so a warm worker reuses it."""
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
    if u.scheme in ("redis", "rediss"):
        try:
            from .redisstore import RedisStore
        except ImportError as e:
            raise ValueError(f"store URL {u.scheme}://…: the Python package redis is missing ({e}); "
                             f"reinstall kappa, which requires it (pip install 'redis>=5')") from None
        return RedisStore(url)
    raise ValueError(f"store URL {u.scheme}://…: unsupported scheme {u.scheme!r} "
                     f"(supported: file://, redis://, rediss://)")
