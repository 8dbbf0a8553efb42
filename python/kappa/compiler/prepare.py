"""The prepare stage (before flatten): rewrites that give nested code a
def of its own.

- A generator expression becomes a generator function defined just before
  its statement, `(e for x in xs)` -> `__k_genexp1__(iter(xs))`, so that a
  generator the program holds can be checkpointed between items (its
  frame's state is then ours to read). Generator expressions handed
  straight to builtins that consume them at once (sum, any, sorted...) stay
  as they are: they are never alive at a pause, and the flattener turns
  those whose elements pause into loops.
- Zero-argument `super()` in a method becomes `super(__class__, self)`: it
  reads the frame's first argument, which a continuation does not have.
- At module and class level, a lambda whose body pauses becomes a def
  defined just before its statement (the shape stage does this before the
  function stages; inside functions the flattener does it, in evaluation
  order).
"""

import ast

from .ast_builders import at, load, plain_call, runtime_call
from .ast_queries import child_blocks, header_nodes, walk_scope
from .classify import Classifier
from .comprehensions import CONSUMERS
from .flatten_expr import deep_pauses
from .names import Temps, generated


def rewrite_super(fn: ast.FunctionDef) -> None:
    """`super()` -> `super(__class__, <first parameter>)` in fn's own scope."""
    a = fn.args
    params = a.posonlyargs + a.args
    if not params:
        return
    first = params[0].arg
    for stmt in fn.body:
        for node in walk_scope(stmt):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super"
                    and not node.args and not node.keywords):
                node.args = [load("__class__", node), load(first, node)]


class GeneratorExpressions:
    """Turns the generator expressions of one function into generator defs."""

    def __init__(self, classifier, temps):
        self.classifier = classifier
        self.temps = temps

    def block(self, stmts):
        out = []
        for stmt in stmts:
            for sub in child_blocks(stmt):
                sub[:] = self.block(sub)
            defs = []
            for root in header_nodes(stmt):
                consumed = self._consumed(root)
                for node in list(walk_scope(root)):
                    for field, value in ast.iter_fields(node):
                        self._convert_field(node, field, value, consumed, defs)
            out.extend(defs)
            out.append(stmt)
        return out

    def _convert_field(self, parent, field, value, consumed, defs):
        items = value if isinstance(value, list) else [value]
        for i, child in enumerate(items):
            if isinstance(child, ast.GeneratorExp) and id(child) not in consumed:
                call = self._convert(child, defs)
                if isinstance(value, list):
                    value[i] = call
                else:
                    setattr(parent, field, call)

    def _consumed(self, root):
        """Generator expressions passed alone to a consuming builtin."""
        out = set()
        for node in walk_scope(root):
            if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.GeneratorExp)):
                continue
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "join":
                out.add(id(node.args[0]))
            elif (isinstance(func, ast.Name) and func.id in CONSUMERS and self.classifier is not None
                  and self.classifier.is_builtin(func.id)):
                out.add(id(node.args[0]))
        return out

    def _convert(self, gen, defs):
        name = self.temps.new("genexp")
        source = generated("a")
        body = [at(ast.Expr(value=at(ast.Yield(value=gen.elt), gen.elt)), gen.elt)]
        for i in range(len(gen.generators) - 1, -1, -1):
            g = gen.generators[i]
            for cond in reversed(g.ifs):
                body = [at(ast.If(test=cond, body=body, orelse=[]), cond)]
            iterable = load(source, g.iter) if i == 0 else g.iter
            body = [at(ast.For(target=g.target, iter=iterable, body=body, orelse=[], type_comment=None), g.target)]
        args = ast.arguments(posonlyargs=[], args=[at(ast.arg(arg=source), gen)], vararg=None, kwonlyargs=[],
                             kw_defaults=[], kwarg=None, defaults=[])
        fn = at(ast.FunctionDef(name=name, args=args, body=body, decorator_list=[], returns=None,
                                type_comment=None), gen)
        fn.kappa_name = "<genexpr>"
        defs.append(fn)
        first = runtime_call("iter", [gen.generators[0].iter], gen.generators[0].iter)
        return plain_call(load(name, gen), [first], gen)


def convert_generator_expressions(fn: ast.FunctionDef, classifier: Classifier, temps: Temps) -> None:
    fn.body = GeneratorExpressions(classifier, temps).block(fn.body)


def hoist_lambdas(stmts: list[ast.stmt], temps: Temps) -> list[ast.stmt]:
    """Module or class level: a lambda whose body pauses (and whose defaults
    are plain names or constants) becomes a def just before its statement."""
    out = []
    for stmt in stmts:
        if isinstance(stmt, ast.ClassDef):
            stmt.body = hoist_lambdas(stmt.body, temps)
        elif not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for sub in child_blocks(stmt):
                sub[:] = hoist_lambdas(sub, temps)
        for root in header_nodes(stmt):
            for node in list(walk_scope(root)):
                for field, value in ast.iter_fields(node):
                    for i, child in enumerate(value if isinstance(value, list) else [value]):
                        if _hoistable(child):
                            fn = _lambda_def(child, temps.new("lambda"))
                            out.append(fn)
                            if isinstance(value, list):
                                value[i] = load(fn.name, child)
                            else:
                                setattr(node, field, load(fn.name, child))
        out.append(stmt)
    return out


def _hoistable(node):
    if not (isinstance(node, ast.Lambda) and deep_pauses(node.body)):
        return False
    a = node.args
    return all(isinstance(d, (ast.Constant, ast.Name)) for d in a.defaults + a.kw_defaults if d is not None)


def _lambda_def(lam, name):
    fn = at(ast.FunctionDef(name=name, args=lam.args, body=[at(ast.Return(value=lam.body), lam.body)],
                            decorator_list=[], returns=None, type_comment=None), lam)
    fn.kappa_name = "<lambda>"
    return fn
