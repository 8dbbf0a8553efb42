"""Picklable iterators keep their position across a checkpoint: range,
list, tuple, str, dict views, enumerate, zip, reversed, map, filter,
itertools; a list and its iterator stay one list."""
import itertools

from kappa.runtime import checkpoint


def main():
    data = [10, 20, 30]
    out = []
    for i in range(3):
        checkpoint()
        out.append(i)
    for k, v in {"a": 1, "b": 2}.items():
        checkpoint()
        out.append(k + str(v))
    for i, (x, y) in enumerate(zip(data, "xyz")):
        checkpoint()
        out.append((i, x, y))
    for r in reversed(data):
        checkpoint()
        out.append(r)
    it = iter(data)
    checkpoint()
    data.append(40)            # the iterator still walks the same list
    out.extend(it)
    for sq in map(abs, filter(None, [0, -1, 2])):
        checkpoint()
        out.append(sq)
    for c in itertools.islice(itertools.count(5), 3):
        checkpoint()
        out.append(c)
    for ch in "hi":
        checkpoint()
        out.append(ch)
    print(out)
    return out
