"""Decorators: a user decorator whose wrapper pauses and keeps state in
its closure, functools.wraps, a decorator with arguments, and a pause in
the decorated function; decorator factories applied inside a function,
stacked, whose application pauses."""
import functools

from kappa.runtime import checkpoint


def counted(fn):
    calls = [0]

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        calls[0] += 1
        checkpoint()
        result = fn(*args, **kwargs)
        print("call", calls[0], fn.__name__, result)
        return result

    wrapper.calls = calls
    return wrapper


def repeat(times):
    def decorate(fn):
        def run(*args):
            out = []
            for _ in range(times):
                out.append(fn(*args))
                checkpoint()
            return out
        return run
    return decorate


@counted
def square(x):
    checkpoint()
    return x * x


@repeat(3)
@counted
def hello(name):
    return "hi " + name


def local_registry():
    registered = []

    def on(event):
        def register(fn):
            checkpoint()
            registered.append((event, fn.__name__))
            return fn
        return register

    @on("a")
    @on("b")
    def handler(x):
        checkpoint()
        return x + 1

    return registered, handler(1)


def main():
    print(local_registry())
    print(square(3), square(4))
    print(hello("kappa"))
    print(square.__name__, square.calls, hello.__name__)
    return square.calls[0]
