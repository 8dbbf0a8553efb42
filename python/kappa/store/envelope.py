"""Envelopes bind stored bytes to the identity they were written for.

Same layout as checkpoint/envelope.go:
  b"KAPPAEV1" | uint32 big-endian header length | header JSON | payload | 32-byte tag
The tag is HMAC-SHA256 with the job's key of the header's key id ("kid");
an envelope without a kid was sealed with the legacy cluster-wide key of a
cluster created before key files (key id "legacy"). A blob whose tag or
identity does not match is refused before anything is unpickled.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass

MAGIC = b"KAPPAEV1"
TAG_SIZE = 32
ALG = "hmac-sha256"
LEGACY = "legacy"


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
    kid: str = ""


def _tag(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha256).digest()


def seal(kid: str, key: bytes, header: Header, payload: bytes) -> bytes:
    """Wraps payload for header, tagged with key, the key of id kid ("legacy"
    writes the legacy format, without a kid)."""
    if not key:
        raise ValueError("sealing needs a key")
    header.alg, header.kid = ALG, ("" if kid == LEGACY else kid)
    # vars() keeps the fields' declaration order, as asdict does, at a
    # fraction of its cost (asdict deep-copies every field).
    fields = dict(vars(header))
    if not fields["kid"]:
        del fields["kid"]
    # Field order and separators match Go's encoding/json of Header.
    hdr = json.dumps(fields, separators=(",", ":")).encode()
    body = MAGIC + struct.pack(">I", len(hdr)) + hdr + payload
    return body + _tag(key, body)


def is_envelope(data: bytes) -> bool:
    return data[: len(MAGIC)] == MAGIC


def open_envelope(keys: Mapping[str, bytes], data: bytes, where: str = "") -> tuple[Header, bytes]:
    """Checks the tag with the key the header names and returns (header,
    payload); raises TamperedError. The header is decoded before the tag is
    checked only to pick the key."""
    at = f" at {where}" if where else ""
    if len(data) < len(MAGIC) + 4 + TAG_SIZE or not is_envelope(data):
        raise TamperedError(f"integrity check failed{at}: not a Kappa envelope ({len(data)} bytes)")
    (n,) = struct.unpack(">I", data[len(MAGIC): len(MAGIC) + 4])
    start = len(MAGIC) + 4
    if start + n + TAG_SIZE > len(data):
        raise TamperedError(f"integrity check failed{at}: header length {n} exceeds the envelope")
    try:
        header = Header(**json.loads(data[start: start + n]))
    except (ValueError, TypeError) as e:
        raise TamperedError(f"integrity check failed{at}: header does not decode: {e}") from None
    kid = header.kid or LEGACY
    key = keys.get(kid)
    if key is None:
        held = ", ".join(sorted(keys)) or "none"
        raise TamperedError(f"integrity check failed{at}: sealed with key id {kid!r}, which is not among this job's "
                            f"keys ({held}); was it removed from the cluster key files while blobs it signed were "
                            f"still needed?")
    body, tag = data[:-TAG_SIZE], data[-TAG_SIZE:]
    if not hmac.compare_digest(tag, _tag(key, body)):
        raise TamperedError(f"integrity check failed{at}: the {ALG} tag does not match (key id {kid!r})")
    if header.alg != ALG:
        raise TamperedError(f"integrity check failed{at}: sealed with {header.alg!r}, expected {ALG!r}")
    return header, body[start + n:]


def expect(header: Header, where: str, **identity) -> None:
    """Refuses an envelope whose header names another identity."""
    for field, want in identity.items():
        got = getattr(header, field)
        if got != want:
            raise TamperedError(
                f"integrity check failed at {where}: the envelope belongs to {field}={got!r}, expected {want!r}")
