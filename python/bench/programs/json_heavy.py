"""JSON-heavy work (after pyperformance's json_dumps/json_loads): build
nested records in Python, serialise, parse back, and walk the result."""

import json


def make_record(i):
    return {
        "id": i,
        "name": f"user{i}",
        "active": i % 3 != 0,
        "score": i * 1.5,
        "tags": ["alpha", "beta", "gamma"][: 1 + i % 3],
        "address": {"street": f"{i} Main St", "zip": f"{10000 + i % 900:05d}", "geo": [i * 0.1, -i * 0.2]},
        "history": [{"day": d, "value": (i * d) % 97} for d in range(6)],
    }


def walk(node):
    if isinstance(node, dict):
        total = 0
        for key, value in node.items():
            total += len(key) + walk(value)
        return total
    if isinstance(node, list):
        total = 0
        for value in node:
            total += walk(value)
        return total
    if isinstance(node, str):
        return len(node)
    return 1


def round_trip(records):
    text = json.dumps(records, sort_keys=True)
    back = json.loads(text)
    return len(text), walk(back)


def main(rounds=150, size=150):
    records = [make_record(i) for i in range(size)]
    total = 0
    for _ in range(rounds):
        length, weight = round_trip(records)
        total += length + weight
    return total
