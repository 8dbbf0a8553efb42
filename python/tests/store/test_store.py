"""The Python side of the checkpoint store: key layout, create-only durable
writes, and envelopes that match the Go side byte for byte."""

import json
import os
import pathlib

import pytest

from kappa.store import DirStore, KeyExistsError, KeyNotFoundError, open_store
from kappa.store.envelope import Header, TamperedError, expect, open_envelope, seal
from kappa.store.keys import Key, checkpoint_key, parse_key, program_key, value_key

TESTDATA = pathlib.Path(__file__).resolve().parents[3] / "checkpoint" / "testdata"
VECTORS = TESTDATA / "envelope_vectors.json"
KEYS = json.loads((TESTDATA / "key_vectors.json").read_text())


@pytest.mark.parametrize("vector", KEYS["valid"], ids=lambda v: v["key"])
def test_key_vectors_shared_with_go(vector):
    key = parse_key(vector["key"])
    want = {field: vector.get(field, Key._field_defaults.get(field)) for field in Key._fields}
    assert key._asdict() == want
    assert str(key) == vector["key"]


@pytest.mark.parametrize("vector", KEYS["invalid"], ids=lambda v: v["why"])
def test_invalid_key_vectors_are_refused(vector):
    with pytest.raises(ValueError, match="key"):
        parse_key(vector["key"])


def test_builders_parse_back():
    assert parse_key(checkpoint_key(1, 2, 3, 4)) == Key("checkpoint", job=1, task=2, epoch=3, seq=4)
    assert parse_key(value_key(1, 2, 3, 4, 5, "item")) == Key(
        "value", job=1, task=2, epoch=3, seq=4, value="item", index=5)
    assert parse_key(program_key("ab")) == Key("program", program="ab")


@pytest.mark.parametrize("unnamed", [True, False], ids=["unnamed-file", "temporary-file"])
def test_dir_store_is_create_only(tmp_path, unnamed):
    s = DirStore(str(tmp_path))
    s._tmpfile = s._tmpfile and unnamed
    key = checkpoint_key(1, 1, 1, 1)
    s.put(key, b"one")
    with pytest.raises(KeyExistsError):
        s.put(key, b"two")
    assert s.get(key) == b"one"
    with pytest.raises(KeyNotFoundError):
        s.get(checkpoint_key(1, 1, 1, 2))
    assert not [n for n in os.listdir(tmp_path / "jobs/j1/t1") if n.startswith(".")]
    assert os.stat(tmp_path / key).st_mode & 0o777 == 0o600
    assert s._tmpfile == (unnamed and hasattr(os, "O_TMPFILE")), "the unnamed-file path fell back"


@pytest.mark.parametrize("key", ["../x", "a//b", "/abs", "a/.hidden", "sp ace"])
def test_keys_cannot_escape(tmp_path, key):
    with pytest.raises(ValueError):
        DirStore(str(tmp_path)).put(key, b"x")


def test_unsupported_scheme():
    with pytest.raises(ValueError, match="unsupported scheme"):
        open_store("s3://bucket")


@pytest.mark.parametrize("vector", json.loads(VECTORS.read_text()), ids=lambda v: v["kid"])
def test_envelope_vectors_shared_with_go(vector):
    key = bytes.fromhex(vector["key_hex"])
    header = Header(**{k: v for k, v in vector["header"].items()})
    sealed = seal(vector["kid"], key, header, bytes.fromhex(vector["payload_hex"]))
    assert sealed.hex() == vector["sealed_hex"]
    got, payload = open_envelope({vector["kid"]: key}, bytes.fromhex(vector["sealed_hex"]))
    assert payload == bytes.fromhex(vector["payload_hex"])
    assert got.job == vector["header"]["job"]


def test_tampered_or_misplaced_envelopes_are_refused():
    keys = {"k1": b"k" * 32, "k2": b"j" * 32}
    sealed = seal("k2", keys["k2"], Header(job=1, task=2, seq=3, kind="checkpoint", program="p"), b"payload")
    flipped = bytearray(sealed)
    flipped[-33] ^= 1  # the payload's last byte
    with pytest.raises(TamperedError, match="tag does not match \\(key id 'k2'\\)"):
        open_envelope(keys, bytes(flipped), "jobs/j1/t2/e1-s3.ckpt")
    with pytest.raises(TamperedError, match="tag does not match"):
        open_envelope({"k2": b"another job's key"}, sealed)
    with pytest.raises(TamperedError, match="sealed with key id 'k2', which is not among this job's keys \\(k1\\)"):
        open_envelope({"k1": keys["k1"]}, sealed)
    header, _ = open_envelope(keys, sealed)
    assert header.kid == "k2"
    with pytest.raises(TamperedError, match="task=2, expected 5"):
        expect(header, "somewhere", task=5)
    with pytest.raises(ValueError, match="needs a key"):
        seal("k1", b"", Header(), b"x")
