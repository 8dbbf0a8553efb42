"""The proof fails, loudly, when it would otherwise pass without proving
anything: the compiler starts rejecting a construct, the grammar stops
drawing one, a construct never pauses, a program never pauses."""

import ast

import corpus.harness as harness
import pytest
from hypothesis import Phase, given, settings

from kappa.compiler import CompileError, compile_source
from kappa.compiler import check as compiler_check

from . import grammar
from . import test_generated as proof
from .features import FEATURES, assert_compiler_accepts_every_feature, rejected_probes
from .grammar import MAIN, PRELUDE, programs

ONE_PROGRAM = settings(max_examples=1, database=None, phases=[Phase.generate], derandomize=True, deadline=None)


def proof_of(construct):
    """The per-construct proof on one program, as test_generated runs it."""
    @ONE_PROGRAM
    @given(source=programs(features=frozenset(FEATURES), required=construct))
    def run(source):
        proof.check(source, 0, construct)
    return run


@pytest.fixture
def compiler_rejects_match(monkeypatch):
    rule = compiler_check.Rule("match", (ast.Match,), "match statement", "(rejected by this test)",
                               lambda node, ctx: True)
    monkeypatch.setattr(compiler_check, "UNSUPPORTED", compiler_check.UNSUPPORTED + [rule])


def test_a_construct_the_compiler_starts_rejecting_fails_the_proof(compiler_rejects_match):
    assert set(rejected_probes()) == {"match"}
    with pytest.raises(AssertionError, match=r"rejects constructs the generated programs use:\n"
                                             r"  match: probe_match.py:\d+:\d+: unsupported construct: match"):
        assert_compiler_accepts_every_feature()
    with pytest.raises(CompileError, match="unsupported construct: match statement"):
        proof_of("match")()
    proof_of("try")()   # the other constructs still prove out


def test_a_construct_the_grammar_stops_drawing_fails_the_proof(monkeypatch):
    monkeypatch.setattr(grammar, "STATEMENTS", [k for k in grammar.STATEMENTS if k[1] != "match"])
    with pytest.raises(AssertionError):
        proof.test_the_declared_constructs_are_the_ones_the_grammar_draws()
    with pytest.raises(ValueError, match="the grammar cannot draw the construct 'match'"):
        proof_of("match")()


def test_a_construct_the_grammar_draws_without_it_fails_the_proof(monkeypatch):
    monkeypatch.setattr(grammar.Gen, "s_with", lambda self, pad, *args, **kw: [f"{pad}x = ident(x)"])
    with pytest.raises(AssertionError, match="the grammar generated no with"):
        proof_of("with")()


def program(body):
    return PRELUDE + "\n\ndef f0(a, b):\n" + "".join(f"    {line}\n" for line in body) + MAIN


def test_a_construct_that_never_pauses_inside_fails_the_proof():
    pauses_before = ["x = ident(a)", "try:", "    x = x + 1", "finally:", "    print('done', x)", "return x"]
    with pytest.raises(AssertionError, match=r"no pause point executed inside try \(\d+ in all\)"):
        proof.check(program(pauses_before), 0, "try")
    proof.check(program(["try:", "    x = ident(a)", "finally:", "    print('done')", "return x"]), 0, "try")


def test_a_program_that_never_pauses_fails_the_proof(monkeypatch):
    source = program(["return a + b"])
    proof.check(source, 0)   # the entries of f0 and main are pause points
    monkeypatch.setattr(harness, "compile_source",
                        lambda text, filename: compile_source(text, filename, auto_pauses=False))
    with pytest.raises(AssertionError, match="the program executed no pause point"):
        proof.check(source, 0)
