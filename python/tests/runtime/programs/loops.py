from kappa.runtime import checkpoint


def step(tag, value):
    print("step", tag, value)
    return value


def grid(rows, cols):
    found = []
    for r in range(rows):
        if step("row", r) == 1:
            continue
        for c in range(cols):
            if c > r:
                break
            if (r + c) % 2:
                continue
            found.append(step("cell", (r, c)))
        else:
            found.append(step("row-done", r))
        if len(found) > 8:
            break
    else:
        found.append("all rows")
    return found


def first_negative(xs):
    for i, x in enumerate(xs):
        checkpoint()
        if x < 0:
            return i, x
    return None


def countdown(n):
    out = []
    while n > 0:
        n -= 1
        if n == 3:
            continue
        out.append(step("n", n))
        if n == 1:
            break
    else:
        out.append("never")
    return out


def main():
    print(grid(4, 4))
    print(grid(6, 3))
    print(first_negative([3, 4, -2, 5]))
    print(first_negative([1, 2]))
    return countdown(6)
