from kappa.runtime import checkpoint


def v(x):
    checkpoint()
    print("v", x)
    return x


def main():
    out = []
    out.append(v(0) or v(2) and v(3))
    out.append(v(1) and v(0) or v(5))
    out.append(v("yes") if v(0) else v("no"))
    out.append(v(1) < v(2) < v(3))
    out.append(v(3) < v(2) < v(1))
    out.append(f"{v(1)}:{v('b')!r}:{v(2.5):.2f}")
    out.append({v("k"): v(1), **{v("j"): 2}})
    out.append([v(1), *[v(2), v(3)], v(4)])
    out.append(-v(4) + v(2) * v(3) ** v(2) // v(5) % v(7))
    d = {"a": [1, 2, 3]}
    d["a"][v(1)] += v(10)
    d["a"][v(0):v(2)] = [v(9)]
    out.append(d)
    s = {v(1), v(2), v(1)}
    out.append(sorted(s))
    out.append([x * 2 for x in v([1, 2, 3]) if x != 2])
    assert v(True), v("never evaluated")
    n = 0
    n += v(5)
    n -= v(1) * 2
    out.append(n)
    del d[v("a")]
    out.append(d)
    return out
