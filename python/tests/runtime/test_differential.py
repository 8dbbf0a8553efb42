"""Differential: plain CPython vs compiled, uninterrupted and checkpointed
and restored at every pause point (in process and in fresh interpreters)."""

import pytest

from .helpers import differences, differential, program_names, program_source


@pytest.mark.parametrize("name", program_names())
def test_program_behaves_the_same_under_every_policy(name):
    reference, results = differential(program_source(name), filename=f"{name}.py")
    assert reference.stdout, "the program must print something"
    assert differences(reference, results) == {}
    assert results["every pause, in process"].pauses > 3
    assert results["every pause, fresh interpreter every k-th"].subprocesses >= 1


def test_error_program_fails_the_same_way():
    reference, results = differential(program_source("errors"), filename="errors.py", subprocess=False)
    assert reference.error_type == "IndexError"
    assert differences(reference, results) == {}
