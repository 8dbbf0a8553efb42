"""for/while with else, break and continue, pauses in the body, the
header and the else clause."""
from kappa.runtime import checkpoint


def slow(x):
    checkpoint()
    return x


def find(items, wanted):
    for i, item in enumerate(items):
        if slow(item) == wanted:
            print("found at", i)
            break
        if item < 0:
            continue
        slow(i)
    else:
        slow("searched all")
        return None
    return i


def countdown(n):
    while slow(n) > 0:
        n -= 1
        if n == 10:
            break
    else:
        print("countdown finished", slow(n))
    return n


def main():
    print(find([3, -1, 4], 4), find([1, 2], 7), countdown(3), countdown(12))
