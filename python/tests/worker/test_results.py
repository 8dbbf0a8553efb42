"""The job's result as JSON: the mapping of Python values JSON has no form
for (README, "What a job returns"), unit by unit and through `kappa run`."""

import json
import sys

import pytest

from kappa.worker.resultjson import NotJSON, int_text, result_json
from worker.kapparun import run_program


def test_plain_data_is_what_json_makes():
    value = {"a": [1, 2.5, None, True, "é"], "b": (3, 4), 5: "int key", None: 0, 1.5: "x", False: "f"}
    assert result_json(value) == json.dumps(value)


@pytest.mark.parametrize("digits", [20, 4300, 4301, 100_000])
def test_ints_are_exact_at_any_size(digits):
    n = 10 ** (digits - 1) + 123_456_789
    for value in (n, -n):
        text = result_json([value, {value: value}])
        old = sys.get_int_max_str_digits()
        sys.set_int_max_str_digits(0)
        try:
            assert json.loads(text) == [value, {str(value): value}]
        finally:
            sys.set_int_max_str_digits(old)
        assert len(int_text(n)) == digits


def test_int_text_under_the_smallest_digit_limit():
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(640)   # a program may lower it this far
    n = 3 ** 5000
    try:
        texts = int_text(n), int_text(-n)
    finally:
        sys.set_int_max_str_digits(0)
    try:
        assert texts == (str(n), str(-n))
    finally:
        sys.set_int_max_str_digits(old)


def test_sets_are_sorted_lists():
    assert result_json({3, 1, 2}) == "[1, 2, 3]"
    assert result_json(frozenset({(2, "b"), (1, "a")})) == '[[1, "a"], [2, "b"]]'
    # Items that do not compare are ordered by their JSON.
    assert result_json({"x", 2, None}) == '["x", 2, null]'
    # With a huge int inside, so the slow path orders the set.
    assert result_json({10 ** 5000, 1}) == "[1, " + "1" + "0" * 5000 + "]"


@pytest.mark.parametrize("value, place, words", [
    (b"abc", "result is of type bytes", "base64.b64encode(data).decode()"),
    ({"k": [1, bytearray(b"x")]}, "result['k'][1] is of type bytearray", "data.decode()"),
    ([float("nan")], "result[0] is nan", "return None or a string"),
    ({"inf": float("inf")}, "result['inf'] is inf", "return None or a string"),
    ({(1, 2): 3}, "a key of result is of type tuple", "str keys"),
    ({"s": {b"x"}}, "an item of result['s'] is of type bytes", "data.decode()"),
    (object(), "result is of type object", "as a dict, list"),
])
def test_what_json_cannot_show_is_refused_by_place_and_type(value, place, words):
    with pytest.raises(NotJSON) as e:
        result_json(value)
    message = str(e.value)
    assert message.startswith("the job's result cannot be shown as JSON: ") and place in message and words in message


def test_a_result_that_contains_itself_is_refused():
    cycle = [1]
    cycle.append(cycle)
    with pytest.raises(NotJSON, match="contains itself"):
        result_json(cycle)


RESULTS = """
def child(kind):
    return b"bytes are fine between tasks" if kind == "bytes" else kind

def handler(event, context):
    from kappa import spawn
    kind = event["kind"]
    if kind == "mixed":
        return {"big": 7 ** 6000, "set": {3, 1, 2}, "pair": (1, 2), "child": spawn(child, ("bytes",)).wait().decode()}
    if kind == "bytes":
        return b"\\x00\\x01"
    raise ValueError(kind)
"""


def test_results_through_kappa_run(tmp_path):
    r = run_program(RESULTS, {"kind": "mixed"}, tmp_path=tmp_path)
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        assert r.result == {"big": 7 ** 6000, "set": [1, 2, 3], "pair": [1, 2], "child": "bytes are fine between tasks"}
    finally:
        sys.set_int_max_str_digits(old)


def test_a_bytes_result_fails_the_job_once_with_the_fix(tmp_path):
    r = run_program(RESULTS, {"kind": "bytes"}, tmp_path=tmp_path)
    assert r.code == 1, r.stderr
    assert "the job's result cannot be shown as JSON: result is of type bytes" in r.stderr
    assert "base64" in r.stderr and "launched" not in r.stderr, r.stderr


IMPORT_FAILS = """\
import json

CONFIG = json.loads("{not json")   # the program's own top-level code fails


def handler(event, context):
    return CONFIG
"""


def test_a_program_that_fails_at_import_fails_the_job_once(tmp_path):
    r = run_program(IMPORT_FAILS, {}, tmp_path=tmp_path)
    assert r.code == 1, r.stderr
    assert "the program failed while being imported" in r.stderr, r.stderr
    assert "JSONDecodeError" in r.stderr and "line 3" in r.stderr, r.stderr
    assert "launched" not in r.stderr, r.stderr
