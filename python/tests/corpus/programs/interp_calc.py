"""A small interpreter: tokenizer, recursive-descent parser to tuples and
a tree-walking evaluator for a language with let, print, if and while.

`broken()` runs a program that divides by zero: its traceback must point
at this file's lines (tests/corpus/test_tracebacks.py)."""

import kappa

KEYWORDS = {"let", "print", "while", "if", "else", "end", "do", "then"}

SOURCE = """
let n = 10
let a = 0
let b = 1
let i = 0
while i < n do
  let t = a + b
  let a = b
  let b = t
  let i = i + 1
end
print a
if a % 2 == 0 then print 1 else print 0 end
let s = 0
let k = 1
while k <= 6 do let s = s + k * k let k = k + 1 end
print s * (2 + 3) - 7 / 2
"""

BROKEN = """
let x = 4
while x > -1 do print 12 / x let x = x - 1 end
"""


def tokenize(text):
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch.isdigit():
            j = i
            while j < len(text) and text[j].isdigit():
                j += 1
            out.append(("num", int(text[i:j])))
            i = j
        elif ch.isalpha():
            j = i
            while j < len(text) and text[j].isalnum():
                j += 1
            word = text[i:j]
            out.append(("kw" if word in KEYWORDS else "name", word))
            i = j
        else:
            two = text[i:i + 2]
            op = two if two in ("==", "<=", ">=", "!=") else ch
            out.append(("op", op))
            i += len(op)
    out.append(("eof", None))
    return out


def parse_block(tokens, pos, stops):
    stmts = []
    while tokens[pos][1] not in stops and tokens[pos][0] != "eof":
        stmt, pos = parse_statement(tokens, pos)
        stmts.append(stmt)
    return stmts, pos


def parse_statement(tokens, pos):
    kappa.checkpoint()
    kind, word = tokens[pos]
    if word == "let":
        value, end = parse_expr(tokens, pos + 3, 0)
        return ("let", tokens[pos + 1][1], value), end
    if word == "print":
        value, end = parse_expr(tokens, pos + 1, 0)
        return ("print", value), end
    if word == "while":
        cond, pos = parse_expr(tokens, pos + 1, 0)
        body, pos = parse_block(tokens, pos + 1, {"end"})
        return ("while", cond, body), pos + 1
    if word == "if":
        cond, pos = parse_expr(tokens, pos + 1, 0)
        then, pos = parse_block(tokens, pos + 1, {"else", "end"})
        other = []
        if tokens[pos][1] == "else":
            other, pos = parse_block(tokens, pos + 1, {"end"})
        return ("if", cond, then, other), pos + 1
    raise SyntaxError(f"unexpected {kind} {word!r}")


PRECEDENCE = {"==": 1, "!=": 1, "<": 2, ">": 2, "<=": 2, ">=": 2, "+": 3, "-": 3,
              "*": 4, "/": 4, "%": 4}


def parse_expr(tokens, pos, min_prec):
    left, pos = parse_atom(tokens, pos)
    while tokens[pos][0] == "op" and PRECEDENCE.get(tokens[pos][1], -1) > min_prec:
        op = tokens[pos][1]
        right, pos = parse_expr(tokens, pos + 1, PRECEDENCE[op])
        left = ("bin", op, left, right)
    return left, pos


def parse_atom(tokens, pos):
    kind, value = tokens[pos]
    if kind == "num":
        return ("num", value), pos + 1
    if kind == "name":
        return ("var", value), pos + 1
    if value == "(":
        inner, pos = parse_expr(tokens, pos + 1, 0)
        return inner, pos + 1
    if value == "-":
        inner, pos = parse_atom(tokens, pos + 1)
        return ("bin", "-", ("num", 0), inner), pos
    raise SyntaxError(f"unexpected {value!r}")


def apply(op, a, b):
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a // b
    if op == "%":
        return a % b
    return int({"==": a == b, "!=": a != b, "<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op])


def evaluate(expr, env):
    tag = expr[0]
    if tag == "num":
        return expr[1]
    if tag == "var":
        return env[expr[1]]
    return apply(expr[1], evaluate(expr[2], env), evaluate(expr[3], env))


def execute(stmts, env, out):
    for stmt in stmts:
        tag = stmt[0]
        if tag == "let":
            env[stmt[1]] = evaluate(stmt[2], env)
        elif tag == "print":
            out.append(evaluate(stmt[1], env))
            print("out:", out[-1])
        elif tag == "while":
            while evaluate(stmt[1], env):
                kappa.checkpoint()
                execute(stmt[2], env, out)
        elif evaluate(stmt[1], env):
            execute(stmt[2], env, out)
        else:
            execute(stmt[3], env, out)


def run_source(text):
    tokens = tokenize(text)
    program, _ = parse_block(tokens, 0, set())
    env, out = {}, []
    execute(program, env, out)
    return out, env


def main():
    out, env = run_source(SOURCE)
    print("tokens:", len(tokenize(SOURCE)), "variables:", sorted(env))
    return out


def broken():
    run_source(SOURCE)
    return run_source(BROKEN)
