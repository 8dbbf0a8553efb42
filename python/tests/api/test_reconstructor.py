"""reconstructor(func, *args): the value behaves as func's result but
pickles as "call func again" (the original Kappa's rt.reconstructor)."""

import pickle

import pytest

from kappa import reconstructor

calls = []


def load(kind, size=100_000):
    calls.append(kind)
    return {"str": "x" * size, "bytes": b"y" * size, "list": list(range(size // 10)),
            "dict": {i: i for i in range(size // 10)}, "int": 10**50, "none": None}[kind]


class Table:
    def __init__(self, rows):
        self.rows = [0] * rows


def make_table(rows):
    calls.append("table")
    return Table(rows)


@pytest.mark.parametrize("kind", ["str", "bytes", "list", "dict", "int"])
def test_builtin_results_pickle_as_a_call(kind):
    value = reconstructor(load, kind)
    assert value == load(kind) and isinstance(value, type(load(kind)))
    calls.clear()
    data = pickle.dumps(value, protocol=5)
    assert len(data) < 200, "the data itself must not be in the pickle"
    again = pickle.loads(data)
    assert calls == [kind]                       # unpickling called func again
    assert again == value
    assert len(pickle.dumps(again, protocol=5)) < 200   # still a reconstructor


def test_objects_of_user_classes_are_marked_in_place():
    table = reconstructor(make_table, 10_000)
    assert type(table) is Table
    data = pickle.dumps(table)
    assert len(data) < 200
    assert len(pickle.loads(data).rows) == 10_000


def test_kwargs_are_kept():
    value = reconstructor(load, "str", size=10)
    assert pickle.loads(pickle.dumps(value)) == "x" * 10


def test_unsupported_results_pickle_normally():
    assert reconstructor(load, "none") is None
    assert pickle.loads(pickle.dumps(reconstructor(lambda: True))) is True
