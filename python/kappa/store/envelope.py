"""Envelopes bind stored bytes to the identity they were written for.

Same layout as checkpoint/envelope.go:
  b"KAPPAEV1" | uint32 big-endian header length | header JSON | payload | 32-byte tag
The tag is HMAC-SHA256 with the cluster key, or SHA-256 without one. A blob
whose tag or identity does not match is refused before anything is unpickled.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
from dataclasses import asdict, dataclass

MAGIC = b"KAPPAEV1"
TAG_SIZE = 32


class TamperedError(Exception):
    """The bytes under a key are not what was written there."""


@dataclass
class Header:
    cluster: str = ""
    job: int = 0
    task: int = 0
    epoch: int = 0
    seq: int = 0
    kind: str = ""
    program: str = ""
    alg: str = ""


def _alg(key: bytes) -> str:
    return "hmac-sha256" if key else "sha256"


def _tag(key: bytes, body: bytes) -> bytes:
    if not key:
        return hashlib.sha256(body).digest()
    return hmac.new(key, body, hashlib.sha256).digest()


def seal(key: bytes, header: Header, payload: bytes) -> bytes:
    header.alg = _alg(key)
    # Field order and separators match Go's encoding/json of Header.
    hdr = json.dumps(asdict(header), separators=(",", ":")).encode()
    body = MAGIC + struct.pack(">I", len(hdr)) + hdr + payload
    return body + _tag(key, body)


def open_envelope(key: bytes, data: bytes, where: str = "") -> tuple[Header, bytes]:
    """Checks the tag and returns (header, payload); raises TamperedError."""
    at = f" at {where}" if where else ""
    if len(data) < len(MAGIC) + 4 + TAG_SIZE or data[: len(MAGIC)] != MAGIC:
        raise TamperedError(f"integrity check failed{at}: not a Kappa envelope ({len(data)} bytes)")
    (n,) = struct.unpack(">I", data[len(MAGIC): len(MAGIC) + 4])
    start = len(MAGIC) + 4
    if start + n + TAG_SIZE > len(data):
        raise TamperedError(f"integrity check failed{at}: header length {n} exceeds the envelope")
    body, tag = data[:-TAG_SIZE], data[-TAG_SIZE:]
    if not hmac.compare_digest(tag, _tag(key, body)):
        raise TamperedError(f"integrity check failed{at}: the {_alg(key)} tag does not match")
    try:
        header = Header(**json.loads(body[start: start + n]))
    except (ValueError, TypeError) as e:
        raise TamperedError(f"integrity check failed{at}: header does not decode: {e}") from None
    if header.alg != _alg(key):
        raise TamperedError(f"integrity check failed{at}: sealed with {header.alg!r}, expected {_alg(key)!r}")
    return header, body[start + n:]


def expect(header: Header, where: str, **identity) -> None:
    """Refuses an envelope whose header names another identity."""
    for field, want in identity.items():
        got = getattr(header, field)
        if got != want:
            raise TamperedError(
                f"integrity check failed at {where}: the envelope belongs to {field}={got!r}, expected {want!r}")
