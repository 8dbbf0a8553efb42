"""Iterators kept across checkpoints: enumerate, zip, dict items/keys/values,
reversed, an explicit iter() advanced with next() by two loops, and a list
mutated while its iterator is live (they must stay one list)."""

import kappa


def visit(tag, value):
    kappa.checkpoint()
    return f"{tag}:{value}"


def main():
    log = []
    inventory = {"bolts": 40, "nuts": 35, "washers": 12, "gears": 3}
    for i, (name, qty) in enumerate(inventory.items()):
        log.append(visit(i, name + "=" + str(qty)))
    for name in inventory:
        inventory[name] -= 1
        log.append(visit("k", name))
    for qty in inventory.values():
        log.append(visit("v", qty))
    for a, b, c in zip("xyz", range(10, 40, 10), reversed([1, 2, 3])):
        log.append(visit("z", (a, b, c)))
    numbers = iter(range(20))
    pairs = []
    for first in numbers:
        second = next(numbers, None)
        pairs.append((first, second))
        visit("pair", first)
        if first >= 10:
            break
    rest = []
    for n in numbers:           # the same iterator, resumed where it stopped
        rest.append(visit("rest", n))
    queue = [1, 2, 3]
    for item in queue:
        if visit("q", item) == "q:1":
            queue.append(item + 10)
        if len(queue) < 6 and item > 2:
            queue.append(item * 2)
    words = "alpha beta gamma delta".split()
    for position, word in enumerate(words, start=1):
        for j, ch in enumerate(word):
            if ch == "a":
                log.append(visit(position, j))
    print(pairs)
    print(rest)
    print(queue)
    print(log)
    return len(log)
