from kappa.runtime import checkpoint


def visit(x):
    checkpoint()
    return x


def main():
    out = []
    for x in [3, 1, 2]:
        out.append(visit(x))
    for i in range(2, 11, 3):
        out.append(visit(i))
    prices = {"apple": 3, "pear": 5, "fig": 2}
    for name, price in prices.items():
        out.append(visit((name, price)))
    for key in prices:
        out.append(visit(key))
    for i, (a, b) in enumerate(zip("abc", [10, 20, 30])):
        out.append(visit((i, a, b)))
    for ch in reversed("xyz"):
        out.append(visit(ch))
    first, *rest = visit([1, 2, 3, 4])
    out.append((first, rest))
    xs = [1, 2, 3]
    for x in xs:                  # the list and its iterator stay one list
        if visit(x) == 1:
            xs.append(4)
        out.append(x)
    it = iter(range(5))
    for x in it:
        out.append(visit(next(it, None)))
    print(out)
    return len(out)
