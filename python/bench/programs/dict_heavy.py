"""Dict-heavy work: word counts, inverted indexes, merging and nested
updates through small functions (after pyperformance's dict-based
benchmarks: hash lookups and small calls dominate)."""


def words(n):
    out = []
    for i in range(n):
        out.append(f"w{(i * 7919) % 2003}")
    return out


def count(ws):
    counts = {}
    for w in ws:
        counts[w] = counts.get(w, 0) + 1
    return counts


def index(ws):
    inverted = {}
    for position, w in enumerate(ws):
        bucket = inverted.get(w)
        if bucket is None:
            inverted[w] = bucket = []
        bucket.append(position)
    return inverted


def merge(a, b):
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) + v
    return out


def bump(table, key, field):
    row = table.setdefault(key, {})
    row[field] = row.get(field, 0) + 1


def nested(ws):
    table = {}
    for w in ws:
        bump(table, w[:2], w[-1])
    return table


def main(rounds=40, n=20000):
    ws = words(n)
    total = 0
    merged = {}
    for _ in range(rounds):
        counts = count(ws)
        merged = merge(merged, counts)
        total += len(index(ws)) + len(nested(ws))
    return total, len(merged), max(merged.values())
