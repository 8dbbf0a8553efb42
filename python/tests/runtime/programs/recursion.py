from kappa.runtime import checkpoint


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def is_even(n):
    if n == 0:
        return True
    return is_odd(n - 1)


def is_odd(n):
    if n == 0:
        return False
    return is_even(n - 1)


def build(depth):
    if depth == 0:
        checkpoint()
        return []
    return [build(depth - 1), depth, build(depth - 1)]


def flatten(tree, out):
    for item in tree:
        if isinstance(item, list):
            flatten(item, out)
        else:
            out.append(item)
    return out


def main():
    fibs = []
    for i in range(8):
        fibs.append(fib(i))
    print("fib", fibs)
    print("fib12", fib(12))
    print("parity", is_even(7), is_odd(7), is_even(10))
    tree = build(3)
    print("tree", tree)
    return flatten(tree, [])
