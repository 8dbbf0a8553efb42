"""The job's result as JSON, the form `kappa run` prints.

JSON has fewer types than Python, so the mapping is fixed (README, "What a
job returns"):

- None, bool, str and finite floats as JSON has them;
- int exactly, at any size (Python's 4300-digit int-to-str limit does not
  apply to the result);
- list and tuple as arrays; set and frozenset as arrays, sorted (by value
  when the items compare, else by their JSON);
- dict as an object; keys that are str, int, float, bool or None become
  strings as Python's json module makes them;
- anything else (bytes, NaN or infinity, an object of another class, a key
  of another type, a value that contains itself) is refused: NotJSON names
  where it is in the result, its type and what to return instead.
"""

from __future__ import annotations

import json
import math

from kappa.pickling import type_name

# Python refuses int-to-str beyond sys.get_int_max_str_digits() digits, a
# limit a program may lower to 640 (never less): below 10**600, str() always
# works.
_SMALL_INT = 10 ** 600


_CANNOT = "the job's result cannot be shown as JSON:"


class NotJSON(ValueError):
    """The result holds a value JSON has no form for."""


def result_json(value) -> str:
    """value as JSON text, or NotJSON naming what JSON cannot show."""
    try:
        return json.dumps(value, allow_nan=False)  # plain data: the C encoder
    except (TypeError, ValueError, RecursionError):
        pass
    try:
        return _Encoder().encode(value, "result")
    except RecursionError:
        raise NotJSON(f"{_CANNOT} it is nested too deeply; return a flatter structure") from None


def int_text(i: int) -> str:
    """The decimal digits of i, whatever its size."""
    try:
        return int.__repr__(i)
    except ValueError:  # more digits than sys.get_int_max_str_digits()
        pass
    return "-" + _digits(-i) if i < 0 else _digits(i)


def _digits(n: int) -> str:
    if n < _SMALL_INT:
        return int.__repr__(n)
    half = n.bit_length() * 3 // 20  # about half its decimal digits (log10 2 > 0.3)
    high, low = divmod(n, 10 ** half)
    return _digits(high) + _digits(low).zfill(half)


def _refuse(value, where: str) -> NotJSON:
    if isinstance(value, float):
        return NotJSON(f"{_CANNOT} {where} is {value!r}, which JSON has no form for; "
                       "return None or a string in its place")
    if isinstance(value, (bytes, bytearray, memoryview)):
        fix = "return text instead: data.decode() for text, base64.b64encode(data).decode() for binary data"
    else:
        fix = "return it as a dict, list, str, int, float, bool or None (e.g. its fields as a dict)"
    return NotJSON(f"{_CANNOT} {where} is of type {type_name(value)}; {fix}")


class _Encoder:
    """The slow path: walks the value, so big ints and sets come out and a
    value JSON cannot show is named by its place."""

    def __init__(self):
        self.open = set()  # ids of the containers being encoded (a value may not contain itself)

    def encode(self, value, where: str) -> str:
        if value is None or isinstance(value, (bool, str)):
            return json.dumps(value)
        if isinstance(value, int):
            return int_text(value)
        if isinstance(value, float) and math.isfinite(value):
            return float.__repr__(value)
        if isinstance(value, (list, tuple, set, frozenset, dict)):
            if id(value) in self.open:
                raise NotJSON(f"{_CANNOT} {where} contains itself; return a copy without the cycle")
            self.open.add(id(value))
            try:
                return self._container(value, where)
            finally:
                self.open.discard(id(value))
        raise _refuse(value, where)

    def _container(self, value, where: str) -> str:
        if isinstance(value, dict):
            return "{" + ", ".join(f"{self._key(k, where)}: {self.encode(v, _item(where, k))}"
                                   for k, v in value.items()) + "}"
        if isinstance(value, (set, frozenset)):
            items = [self.encode(v, f"an item of {where}") for v in _sorted(value, where)]
            return "[" + ", ".join(items) + "]"
        return "[" + ", ".join(self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)) + "]"

    def _key(self, key, where: str) -> str:
        # As json.dumps turns keys into strings.
        if isinstance(key, str):
            return json.dumps(key)
        if key is None or isinstance(key, bool):
            return json.dumps(json.dumps(key))
        if isinstance(key, int):
            return '"' + int_text(key) + '"'
        if isinstance(key, float) and math.isfinite(key):
            return json.dumps(float.__repr__(key))
        raise NotJSON(f"{_CANNOT} a key of {where} is of type {type_name(key)}, which a JSON object cannot have; "
                      f"use str keys (e.g. str(key)) or return a list of pairs")


def _item(where: str, key) -> str:
    """where[key], for messages (a huge int key has no repr)."""
    return f"{where}[{int_text(key) if isinstance(key, int) and not isinstance(key, bool) else repr(key)}]"


def _sorted(items, where: str) -> list:
    try:
        return sorted(items)
    except TypeError:  # items that do not compare: order them by their JSON
        return sorted(items, key=lambda v: _Encoder().encode(v, f"an item of {where}"))
