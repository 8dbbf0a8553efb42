import random

from kappa.runtime import checkpoint

random.seed(1234)


def roll(n):
    checkpoint()
    return [random.randint(1, 6) for _ in range(n)]


def main():
    rolls = []
    for i in range(4):
        rolls.append(roll(i + 1))
        print("roll", rolls[-1], round(random.random(), 6))
    deck = list(range(10))
    random.shuffle(deck)
    checkpoint()
    print("deck", deck, random.choice(deck))
    return rolls
