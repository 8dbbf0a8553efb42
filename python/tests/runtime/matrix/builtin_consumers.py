"""Generator expressions handed to builtins (sum, min, max, any, all,
sorted, list, tuple, set, frozenset, dict, str.join, next) whose elements pause,
rewritten into loops: same results, short-circuit kept, same errors."""
from kappa.runtime import checkpoint

TOUCHED = []


def slow(x):
    checkpoint()
    TOUCHED.append(x)
    return x


def main():
    xs = [3, 1, 4, 1, 5, 9, 2, 6]
    print(sum(slow(x) for x in xs), sum((slow(x) for x in xs), 100))
    print(min(slow(x) for x in xs), max(slow(x) for x in xs if x < 6))
    print(max((slow(x) for x in xs), key=lambda v: -v), min((slow(x) for x in []), default="empty"))
    print(any(slow(x) > 3 for x in xs), all(slow(x) < 5 for x in xs))
    print("touched before short-circuit:", len(TOUCHED))
    print(sorted((slow(x) for x in xs), reverse=True), list(slow(x) for x in "ab"))
    print(tuple(slow(x) for x in (1, 2)), set(slow(x) % 2 for x in xs), frozenset(slow(x) for x in [7]))
    print(dict((slow(k), k * 2) for k in "xy"), "-".join(slow(s) for s in ["a", "b", "c"]))
    print(next(slow(x) for x in xs if x > 3), next((slow(a * b) for a in xs for b in xs if a * b == 10), None))
    print(next((slow(x) for x in [] if x), "none"), "touched:", len(TOUCHED))
    try:
        max(slow(x) for x in [])
    except ValueError as e:
        print("empty:", e)
    try:
        next(slow(x) for x in xs if x > 100)
    except StopIteration as e:
        print("exhausted:", repr(e))
    return len(TOUCHED)
