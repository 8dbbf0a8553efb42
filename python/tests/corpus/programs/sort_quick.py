"""Quicksort with random pivots (Lomuto, recursive) and a three-way
quicksort with an explicit stack; the random state must survive restores."""

import random

import kappa


def partition(xs, lo, hi):
    p = random.randint(lo, hi)
    xs[p], xs[hi] = xs[hi], xs[p]
    pivot = xs[hi]
    i = lo
    for j in range(lo, hi):
        if xs[j] < pivot:
            xs[i], xs[j] = xs[j], xs[i]
            i += 1
    xs[i], xs[hi] = xs[hi], xs[i]
    return i


def quicksort(xs, lo, hi, depth):
    if lo >= hi:
        return depth
    kappa.checkpoint()
    p = partition(xs, lo, hi)
    left = quicksort(xs, lo, p - 1, depth + 1)
    right = quicksort(xs, p + 1, hi, depth + 1)
    return max(left, right)


def pick_pivot(xs, lo, hi):
    kappa.checkpoint()
    return xs[random.randint(lo, hi)]


def three_way(xs):
    stack = [(0, len(xs) - 1)]
    rounds = 0
    while stack:
        lo, hi = stack.pop()
        if lo >= hi:
            continue
        rounds += 1
        pivot = pick_pivot(xs, lo, hi)
        lt, i, gt = lo, lo, hi
        while i <= gt:
            if xs[i] < pivot:
                xs[lt], xs[i] = xs[i], xs[lt]
                lt += 1
                i += 1
            elif xs[i] > pivot:
                xs[gt], xs[i] = xs[i], xs[gt]
                gt -= 1
            else:
                i += 1
        stack.append((lo, lt - 1))
        stack.append((gt + 1, hi))
    return rounds


def main():
    random.seed(2020)
    data = [random.randint(0, 60) for _ in range(70)]
    a = list(data)
    depth = quicksort(a, 0, len(a) - 1, 0)
    b = list(data)
    rounds = three_way(b)
    print("recursion depth:", depth, "three-way rounds:", rounds)
    print("sorted:", a == b == sorted(data), a[:12])
    print("next random after sorting:", random.random())
    return a[::7]
