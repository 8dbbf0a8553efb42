"""with statements: single and multiple managers, the manager is live
state, __exit__ runs once, when the block really ends; an exception
suppressed by __exit__; return and break through a with."""
from kappa.runtime import checkpoint


class Resource:
    opened = []

    def __init__(self, name, suppress=False):
        self.name, self.suppress, self.uses = name, suppress, 0

    def __enter__(self):
        Resource.opened.append(self.name)
        print("enter", self.name)
        return self

    def __exit__(self, kind, value, tb):
        print("exit", self.name, kind.__name__ if kind else None, self.uses)
        Resource.opened.remove(self.name)
        return self.suppress

    def use(self):
        checkpoint()
        self.uses += 1
        return self.uses


def single():
    with Resource("a") as r:
        r.use()
        r.use()
        total = r.use()
    return total


def multiple():
    with Resource("b") as b, Resource("c") as c:
        b.use()
        c.use()
        b.use()
    return b.uses, c.uses


def suppressed():
    with Resource("d", suppress=True) as d:
        d.use()
        raise KeyError("swallowed")
    return "went on"


def early_return(items):
    for item in items:
        with Resource(item) as r:
            if r.use() and item == "stop":
                return item
    return None


def broken_loop():
    n = 0
    while True:
        with Resource("loop") as r:
            n += r.use()
            if n >= 2:
                break
    return n


def main():
    print(single(), multiple(), suppressed(), early_return(["x", "stop", "y"]), broken_loop())
    print("still open:", Resource.opened)
    return Resource.opened
