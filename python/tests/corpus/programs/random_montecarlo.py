"""Random numbers across checkpoints: Monte Carlo estimates, a random walk,
shuffles and samples from the global generator and from a Random instance
that is live state."""

import random

import kappa


def estimate_pi(samples):
    inside = 0
    for i in range(samples):
        if i % 100 == 0:
            kappa.checkpoint()
        x, y = random.random(), random.random()
        if x * x + y * y <= 1.0:
            inside += 1
    return 4.0 * inside / samples


def walk(rng, steps):
    x = y = 0
    furthest = 0
    for _ in range(steps):
        dx, dy = step(rng)
        x, y = x + dx, y + dy
        furthest = max(furthest, abs(x) + abs(y))
    return (x, y), furthest


def step(rng):
    kappa.checkpoint()
    return rng.choice([(1, 0), (-1, 0), (0, 1), (0, -1)])


def deal(deck, hands, size):
    random.shuffle(deck)
    out = []
    for h in range(hands):
        kappa.checkpoint()
        out.append(sorted(deck[h * size:(h + 1) * size]))
    return out


def main():
    random.seed(12345)
    print("pi ~", estimate_pi(2000))
    rng = random.Random(99)
    end, furthest = walk(rng, 60)
    print("walk ends at", end, "furthest", furthest)
    hands = deal(list(range(52)), 4, 5)
    print("hands:", hands)
    print("sample:", random.sample(range(100), 5), "gauss:", round(random.gauss(0, 1), 6))
    print("instance next:", rng.randint(0, 10**6))
    return random.randint(0, 10**9)
