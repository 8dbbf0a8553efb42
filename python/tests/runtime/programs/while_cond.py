from kappa.runtime import checkpoint


def probe(n):
    checkpoint()
    print("probe", n)
    return n


def drain(n):
    total = 0
    while probe(n) > 0:
        total += n
        n -= 1
    else:
        print("drained", total)
    return total


def until(limit):
    i = 0
    seen = []
    while probe(i) < limit and probe(i * 2) != 6:
        seen.append(i)
        i += 1
        if i == 7:
            break
    else:
        seen.append("else")
    return seen


def nested(k):
    out = []
    for a in range(k):
        b = a
        while probe(b):
            b -= 1
            if b == 2:
                break
        else:
            out.append(("else", a))
            if a == 1:
                continue
        out.append(a)
    return out


def main():
    print(drain(4))
    print(until(5))
    print(until(10))
    return nested(5)
