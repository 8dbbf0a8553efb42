from kappa.runtime import checkpoint


def inner(xs, i):
    checkpoint()
    return xs[i]


def middle(xs):
    total = 0
    for i in range(len(xs) + 1):
        total += inner(xs, i)
    return total


def main():
    print("start")
    return middle([1, 2, 3])
