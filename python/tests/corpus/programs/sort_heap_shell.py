"""Heapsort, shell sort and insertion sort counting comparisons in a
module-level dict (mutated, never rebound)."""

import kappa

STATS = {"compares": 0, "swaps": 0}


def less(a, b):
    STATS["compares"] += 1
    return a < b


def swap(xs, i, j):
    STATS["swaps"] += 1
    xs[i], xs[j] = xs[j], xs[i]


def sift_down(xs, start, end):
    root = start
    while 2 * root + 1 <= end:
        child = 2 * root + 1
        if child + 1 <= end and less(xs[child], xs[child + 1]):
            child += 1
        if less(xs[root], xs[child]):
            swap(xs, root, child)
            root = child
        else:
            return


def heapsort(xs):
    n = len(xs)
    for start in range((n - 2) // 2, -1, -1):
        sift_down(xs, start, n - 1)
    kappa.checkpoint()
    for end in range(n - 1, 0, -1):
        swap(xs, 0, end)
        sift_down(xs, 0, end - 1)
    return xs


def shell_sort(xs):
    gap = len(xs) // 2
    while gap > 0:
        for i in range(gap, len(xs)):
            j = i
            while j >= gap and less(xs[j], xs[j - gap]):
                swap(xs, j, j - gap)
                j -= gap
        kappa.checkpoint()
        gap //= 2
    return xs


def insertion_sort(xs):
    for i in range(1, len(xs)):
        j = i
        while j > 0 and less(xs[j], xs[j - 1]):
            swap(xs, j, j - 1)
            j -= 1
    return xs


def measured(name, sorter, data):
    STATS["compares"] = 0
    STATS["swaps"] = 0
    result = sorter(list(data))
    print(f"{name:10s} compares={STATS['compares']:4d} swaps={STATS['swaps']:4d}")
    return result


def main():
    data = [(i * 37 + 11) % 41 for i in range(24)]
    results = []
    for name, sorter in [("heap", heapsort), ("shell", shell_sort), ("insertion", insertion_sort)]:
        results.append(measured(name, sorter, data))
    print("all equal:", all(r == sorted(data) for r in results))
    return results[0]
