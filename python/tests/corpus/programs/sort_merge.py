"""Merge sort, top-down (recursive) and bottom-up, on pseudo-random data."""

import kappa


def lcg(seed, n):
    out = []
    x = seed
    for _ in range(n):
        x = (x * 1103515245 + 12345) % 2**31
        out.append(x % 1000)
    return out


def merge(left, right):
    kappa.checkpoint()
    out = []
    i = j = 0
    while i < len(left) and j < len(right):
        if left[i] <= right[j]:
            out.append(left[i])
            i += 1
        else:
            out.append(right[j])
            j += 1
    out.extend(left[i:])
    out.extend(right[j:])
    return out


def merge_sort(xs):
    if len(xs) <= 1:
        return list(xs)
    mid = len(xs) // 2
    return merge(merge_sort(xs[:mid]), merge_sort(xs[mid:]))


def bottom_up(xs):
    items = list(xs)
    width = 1
    passes = 0
    while width < len(items):
        merged = []
        for start in range(0, len(items), 2 * width):
            merged.extend(merge(items[start:start + width], items[start + width:start + 2 * width]))
        items = merged
        width *= 2
        passes += 1
    print("bottom-up passes:", passes)
    return items


def main():
    data = lcg(7, 48)
    top = merge_sort(data)
    bottom = bottom_up(data)
    print("first ten:", top[:10])
    print("last five:", top[-5:])
    print("agree:", top == bottom == sorted(data))
    return sum(i * v for i, v in enumerate(top))
