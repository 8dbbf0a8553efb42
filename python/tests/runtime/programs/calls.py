from kappa.runtime import checkpoint


def combine(a, b=2, *rest, scale=1, **named):
    checkpoint()
    return (a + b + sum(rest)) * scale, sorted(named.items())


def pair(x):
    checkpoint()
    return x, x + 1


def main():
    print(combine(1))
    print(combine(1, 5, 6, 7, scale=2, z=3, y=4))
    args = [10, 20, 30]
    opts = {"scale": 3, "w": 1}
    print(combine(*args, **opts))
    print(combine(*args, combine(0)[0], **opts))
    print(combine(b=pair(1)[1], a=pair(2)[0]))
    a, b = pair(5)
    (c, d), e = pair(a), b
    print(a, b, c, d, e)
    table = {}
    table[pair(3)] = combine(*pair(4), scale=pair(1)[0])
    print(table)
    results = []
    for x in range(3):
        results.append(combine(x, x))
    return results
