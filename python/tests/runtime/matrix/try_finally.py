"""finally runs exactly once, also when it pauses itself, and after
return, break, continue and exceptions."""
from kappa.runtime import checkpoint

LOG = []


def step(tag, value=None):
    checkpoint()
    LOG.append(tag)
    return value


def returns_through_finally(n):
    try:
        step("body")
        return n * 2
    finally:
        step("finally")
        print("finally ran for", n)


def raises_through_finally():
    try:
        step("body")
        raise ValueError("inside")
    finally:
        step("cleanup")
        print("cleanup ran")


def loop_jumps():
    out = []
    for i in range(5):
        try:
            if i == 1:
                continue
            if i == 3:
                break
            out.append(step("item", i))
        finally:
            step("each")
            print("finally", i)
    return out


def nested(n):
    try:
        try:
            step("in")
            if n:
                raise KeyError(n)
        finally:
            step("inner-fin")
            print("inner finally", n)
    except KeyError:
        step("handled")
        return "handled"
    finally:
        step("outer-fin")
        print("outer finally", n)
    return "clean"


def main():
    print(returns_through_finally(4))
    try:
        raises_through_finally()
    except ValueError as e:
        print("propagated:", e)
    print(loop_jumps())
    print(nested(0), nested(1))
    print(LOG)
    return len(LOG)
