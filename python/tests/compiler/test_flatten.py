"""The flatten stage keeps evaluation order exactly and leaves every
pausing call at statement level."""

import ast

import pytest

from kappa.compiler.ast_queries import is_pausing_call
from kappa.compiler.pipeline import stage
from kappa.runtime import core

from .helpers import dedent, flattened

# `p(tag, v)` is a program function, so calls to it may pause; `T.tag(v)`
# is a method call whose name is not a program function, so it does not.
# Both log, and so do the dunders of the helper classes.
PRELUDE = dedent("""
    LOG = []

    class Tracer:
        def __getattr__(self, tag):
            LOG.append("get:" + tag)
            return lambda *args: (LOG.append((tag,) + args), args[0] if args else None)[1]

    class Fmt:
        def __init__(self, tag):
            self.tag = tag
        def __format__(self, spec):
            LOG.append("format:" + self.tag)
            return self.tag

    class Box:
        def __init__(self):
            self._x = 1
        @property
        def x(self):
            LOG.append("get x")
            return self._x
        @x.setter
        def x(self, v):
            LOG.append("set x")
            self._x = v

    class LogDict(dict):
        def __getitem__(self, k):
            LOG.append("getitem:" + str(k))
            return dict.get(self, k, 0)
        def __setitem__(self, k, v):
            LOG.append("setitem:" + str(k))
            dict.__setitem__(self, k, v)
        def __delitem__(self, k):
            LOG.append("delitem:" + str(k))

    class Grid:
        def __getitem__(self, key):
            LOG.append("getitem:" + repr(key))
            return key

    class Truth:
        def __init__(self, v):
            self.v = v
        def __bool__(self):
            LOG.append("bool:" + str(self.v))
            return bool(self.v)

    class Rebinder:
        def go(self):
            global ADD
            ADD = lambda a: ("new", a)

    T = Tracer()

    def ADD(a):
        return ("old", a)

    def p(tag, v=None):
        LOG.append("p:" + tag)
        return v

    def push(xs, v):
        xs.append(v)
        LOG.append("push")
        return v

    def put(d, k, v):
        d[k] = v
        return v

    def rebind_then(v):
        LOG.append("rebind")
        Rebinder().go()
        return v
""")

CASES = {
    "binop": "return T.a(1) + p('b', 2) + T.c(3)",
    "list": "return [T.a(1), p('b', 2), T.c(3)]",
    "call_args": "return T.f(T.a(1), p('b', 2), k=T.c(3))",
    "nested": "return p('outer', p('inner', 1) + T.a(2))",
    "starred_before_pause": "xs = [1]\nreturn T.f(*xs, push(xs, 5))",
    "dstar_before_pause": "d = {'a': 1}\nreturn T.f(**d, x=put(d, 'b', 2))",
    "dict_display": "return {T.a(1): p('b', 2), T.c(3): p('d', 4)}",
    "fstring": "return f\"{Fmt('a')}-{p('b', 1)}-{Fmt('c')}\"",
    "and_false": "return T.a(0) and p('b', 1)",
    "and_true": "return T.a(1) and p('b', 2) and p('c', 3)",
    "or_true": "return T.a(1) or p('b', 2)",
    "or_false": "return T.a(0) or p('b', 0) or p('c', 3)",
    "ifexp": "return p('a', 1) if T.c(0) else p('b', 2)",
    "ifexp_test_pauses": "return T.a(1) if p('c', 1) else T.b(2)",
    "compare_chain": "return T.a(1) < p('b', 2) < T.c(3) < p('d', 4)",
    "compare_chain_short": "return T.a(5) < p('b', 2) < p('d', 4)",
    "bool_truth": "return (Truth(1) and p('b', Truth(0)) and p('c', 3)).v",
    "attribute_aug": "o = Box()\no.x += p('a', 2)\nreturn o.x",
    "subscript_aug": "d = LogDict()\nd[T.k('k')] += p('v', 1)\nreturn dict(d)",
    "subscript_target": "d = LogDict()\nd[p('k', 'k')] = T.v(1)\nreturn dict(d)",
    "two_targets": "d = LogDict()\na = d[p('k', 'k')] = T.v(1)\nreturn a, dict(d)",
    "slice_in_tuple": "g = Grid()\nreturn g[T.a(1):2, ::T.s(1), p('b', 3)]",
    "slice": "xs = [1, 2, 3, 4]\nreturn xs[T.i(0):p('j', 2)]",
    "while_cond": "n = 3\nwhile p('cond', n) > 0:\n    n -= 1\n    T.body(n)\nelse:\n    T.els(n)\nreturn n",
    "while_break": "n = 3\nwhile p('cond', n):\n    n -= 1\n    if n == 1:\n        break\n"
                   "else:\n    T.els(n)\nreturn n",
    "for_iter": "out = []\nfor x in p('it', [1, 2]):\n    out.append(p('x', x))\nreturn out",
    "assert_ok": "assert p('t', True), p('m', 'msg')\nreturn 1",
    "assert_fails": "assert p('t', False), p('m', 'msg')\nreturn 1",
    "delete": "d = LogDict(a=1)\ndel d[p('k', 'a')]\nreturn 1",
    "comprehension": "return [v * 2 for v in p('it', [1, 2])]",
    "walrus_in_loop_header": "x = [1]\nfor v in T.f(x, (x := [5]), p('a', x)):\n    T.v(v)\n    p('b', 1)\nreturn x",
    "walrus_in_while_header": "x = 2\nwhile T.f(x, (x := x - 1), p('a', x)):\n    p('b', 1)\nreturn x",
    "walrus_rebinds": "x = 1\nreturn T.f(x, (x := 5), p('a', x))",
    "unary": "return -p('a', 1), not p('b', 0)",
    "raise": "raise ValueError(p('m', 'boom'))",
    "if_and_truth": "if Truth(0) and p('b', 1):\n    return 'yes'\nreturn 'no'",
    "if_and_truth2": "if Truth(1) and p('b', Truth(1)) and p('c', Truth(0)):\n    return 'yes'\nreturn 'no'",
    "if_or_truth": "if Truth(0) or p('b', Truth(0)) or p('c', Truth(1)):\n    return 'yes'\nreturn 'no'",
    "while_and_truth": "n = 2\nwhile Truth(n) and p('c', Truth(n - 1)):\n    n -= 1\nreturn n",
    "assert_and_truth": "assert Truth(1) and p('b', Truth(1))\nreturn 1",
    "if_or": "if T.a(0) or p('b', 1):\n    return 'yes'\nreturn 'no'",
    "property_before_call": "b = Box()\nreturn b.x + p('a', 1)",
    "global_callee_loaded_first": "return ADD(rebind_then(1))",
    "method_callee_loaded_first": "out = []\nout.append(push(out, 1))\nreturn out",
    "keyword_then_star": "xs = [1]\nreturn T.f(x=p('k', 1), *xs)",
    "aug_name": "x = 1\nx += p('a', 2) * 3\nreturn x",
    "tuple_unpack": "a, (b, c) = p('a', (1, (2, 3)))\nreturn a + b + c",
}


def run(module_ast_or_source, body):
    if isinstance(module_ast_or_source, str):
        code = compile(module_ast_or_source, "prog.py", "exec")
    else:
        code = compile(module_ast_or_source, "prog.py", "exec")
    namespace = {"__name__": "flatten_test", "__kappa__": core}
    exec(code, namespace)
    try:
        result = ("returned", namespace["f"]())
    except Exception as error:  # noqa: BLE001 - the error is part of the behaviour
        result = ("raised", type(error).__name__, str(error))
    return namespace["LOG"], result


def program(body):
    return PRELUDE + "\ndef f():\n" + "".join("    " + line + "\n" for line in body.splitlines())


@pytest.mark.parametrize("name", sorted(CASES))
def test_flatten_preserves_evaluation_order(name):
    source = program(CASES[name])
    tree = flattened(source).tree
    expected = run(source, CASES[name])
    assert expected[0], "the case must log something"
    assert run(tree, CASES[name]) == expected


def _parents(tree):
    parents = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    return parents


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_statement_suspends_at_most_once_and_last(name):
    state = flattened(program(CASES[name]))
    fn = next(n for n in state.tree.body if isinstance(n, ast.FunctionDef) and n.name == "f")
    parents = _parents(fn)
    calls = [n for n in ast.walk(fn) if is_pausing_call(n)]
    assert calls
    statements = []
    for call in calls:
        node = call
        while not isinstance(node, ast.stmt):
            node = parents[node]
        assert isinstance(node, (ast.Expr, ast.Assign, ast.AugAssign, ast.Return, ast.Raise, ast.Delete,
                                 ast.If)), ast.unparse(node)
        statements.append(node)
    assert len(statements) == len(set(map(id, statements)))   # one suspension per statement
    # the number stage accepts the result (it rejects a suspension in a compound expression)
    stage("number").run(state)
    info = next(i for i in state.functions if i.node is fn)
    numbered = {id(site.stmt) for site in info.sites[1:]}
    assert numbered and numbered <= set(map(id, statements))


def test_return_of_a_call_keeps_the_call_in_place():
    tree = flattened("def g(x):\n    return x\n\ndef f(x):\n    return g(x) + g(x + 1)\n").tree
    f = tree.body[1]
    assert ast.unparse(f).splitlines()[1:] == ["    __k_t1__ = g(x)", "    return __k_t1__ + g(x + 1)"]


def test_for_loop_with_pause_iterates_a_named_iterator():
    tree = flattened("def g(x):\n    return x\n\n"
                     "def f(xs):\n    for x in xs:\n        g(x)\n    for y in xs:\n        print(y)\n").tree
    text = ast.unparse(tree.body[1])
    assert "__k_it5__ = __kappa__.iter(xs)" in text
    assert "for x in __k_it5__:" in text
    assert "for y in xs:" in text   # no pause inside: left alone


def test_while_with_pausing_condition_and_else_uses_a_flag():
    tree = flattened("def g(x):\n    return x\n\n"
                     "def f(n):\n    while g(n):\n        n -= 1\n    else:\n        n = 5\n    return n\n").tree
    text = ast.unparse(tree.body[1])
    assert "while True:" in text and "__k_else" in text


def test_generated_nodes_keep_user_locations():
    tree = flattened("def g(x):\n    return x\n\ndef f(x):\n    y = 1 + \\\n        g(x)\n    return y\n").tree
    f = tree.body[1]
    call = next(n for n in ast.walk(f) if is_pausing_call(n))
    assert (call.lineno, call.col_offset) == (6, 8)
    for node in ast.walk(f):
        if isinstance(node, ast.stmt):
            assert node.lineno in (4, 5, 6, 7)
