"""Generator pipelines: generator functions (with yield from and a
generator that keeps internal state) consumed by loops that checkpoint
between items; the generators are live state across checkpoints."""

import kappa

LOG = """2024-01-01 GET /index 200 12
2024-01-01 GET /about 404 3
2024-01-02 POST /api/items 201 40
2024-01-02 GET /index 200 15
2024-01-03 GET /api/items 500 7
2024-01-03 GET /index 200 11
2024-01-04 DELETE /api/items 403 2
2024-01-04 GET /about 200 9"""


def lines(text):
    for line in text.splitlines():
        if line.strip():
            yield line


def parse(records):
    for line in records:
        day, method, path, status, size = line.split()
        yield {"day": day, "method": method, "path": path, "status": int(status), "size": int(size)}


def only_errors(entries):
    for entry in entries:
        if entry["status"] >= 400:
            yield entry


def running_total(values):
    total = 0
    for v in values:
        total += v
        yield total


def sizes(entries):
    for entry in entries:
        yield entry["size"]


def chunks(items, size):
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def both(first, second):
    yield from first
    yield from second


def main():
    errors = []
    for entry in only_errors(parse(lines(LOG))):
        kappa.checkpoint()
        errors.append((entry["day"], entry["status"]))
    print("errors:", errors)
    totals = running_total(sizes(parse(lines(LOG))))
    for total in totals:
        kappa.checkpoint()
        print("running total:", total)
    for batch in chunks(parse(lines(LOG)), 3):
        kappa.checkpoint()
        print("batch:", [e["path"] for e in batch])
    merged = both(range(3), "ab")
    first = next(merged)
    kappa.checkpoint()
    rest = []
    for item in merged:
        kappa.checkpoint()
        rest.append(item)
    print("merged:", first, rest)
    return len(errors)
