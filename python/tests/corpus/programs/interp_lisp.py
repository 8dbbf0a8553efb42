"""A small Lisp: tokenizer, reader, an environment class, an evaluator with
special forms, closures built as nested Python functions, tail recursion in
the evaluator loop, and errors as a custom exception caught by a REPL-style
driver (try/except around every top-level form)."""

import kappa


class LispError(Exception):
    pass


class Env:
    def __init__(self, names=(), values=(), outer=None):
        self.vars = dict(zip(names, values))
        self.outer = outer

    def find(self, name):
        env = self
        while env is not None:
            if name in env.vars:
                return env
            env = env.outer
        raise LispError(f"unbound symbol: {name}")


def tokenize(text):
    return text.replace("(", " ( ").replace(")", " ) ").split()


def read(tokens):
    if not tokens:
        raise LispError("unexpected end of input")
    token = tokens.pop(0)
    if token == "(":
        form = []
        while tokens and tokens[0] != ")":
            form.append(read(tokens))
        if not tokens:
            raise LispError("missing )")
        tokens.pop(0)
        return form
    if token == ")":
        raise LispError("unexpected )")
    try:
        return int(token)
    except ValueError:
        return token


def standard_env():
    env = Env()
    env.vars.update({
        "+": lambda *a: sum(a), "-": lambda a, b: a - b, "*": lambda a, b: a * b,
        "<": lambda a, b: a < b, "=": lambda a, b: a == b, "list": lambda *a: list(a),
        "car": lambda x: x[0], "cdr": lambda x: x[1:], "null?": lambda x: x == [],
    })
    return env


def make_lambda(params, body, env):
    def procedure(*args):
        if len(args) != len(params):
            raise LispError(f"expected {len(params)} arguments, got {len(args)}")
        return evaluate(body, Env(params, args, env))
    return procedure


def evaluate(x, env):
    while True:
        kappa.checkpoint()
        if isinstance(x, str):
            return env.find(x).vars[x]
        if not isinstance(x, list):
            return x
        head = x[0]
        if head == "quote":
            return x[1]
        if head == "if":
            x = x[2] if evaluate(x[1], env) else x[3]
            continue
        if head == "define":
            env.vars[x[1]] = evaluate(x[2], env)
            return x[1]
        if head == "lambda":
            return make_lambda(x[1], x[2], env)
        if head == "begin":
            for form in x[1:-1]:
                evaluate(form, env)
            x = x[-1]
            continue
        fn = evaluate(head, env)
        args = [evaluate(arg, env) for arg in x[1:]]
        if not callable(fn):
            raise LispError(f"not a procedure: {fn}")
        return fn(*args)


def show(value):
    if isinstance(value, list):
        return "(" + " ".join(show(v) for v in value) + ")"
    if value is True:
        return "#t"
    if value is False:
        return "#f"
    return str(value)


PROGRAM = [
    "(define fact (lambda (n) (if (< n 2) 1 (* n (fact (- n 1))))))",
    "(fact 10)",
    "(define make-counter (lambda (start) (lambda (step) (+ start step))))",
    "(define add5 (make-counter 5))",
    "(add5 37)",
    "(define len (lambda (xs) (if (null? xs) 0 (+ 1 (len (cdr xs))))))",
    "(len (list 1 2 3 4 5 6))",
    "(define fib (lambda (n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2))))))",
    "(fib 9)",
    "(undefined 1)",
    "(fact 1 2)",
    "(car (quote (a b c)))",
    "(begin (define x 4) (* x x))",
    "(1 2)",
    "(+ 1",
]


def main():
    env = standard_env()
    results = []
    for line in PROGRAM:
        try:
            value = evaluate(read(tokenize(line)), env)
            results.append(show(value))
        except LispError as error:
            results.append(f"error: {error}")
        finally:
            kappa.checkpoint()
        print(f"{line:60.60} => {results[-1]}")
    return results
