"""Knapsack (0/1, bottom-up with item recovery), coin change (ways and
fewest coins, top-down with a memo dict passed along), rod cutting."""

import kappa


def knapsack(items, capacity):
    best = [[0] * (capacity + 1) for _ in range(len(items) + 1)]
    for i, (name, weight, value) in enumerate(items, start=1):
        kappa.checkpoint()
        for c in range(capacity + 1):
            best[i][c] = best[i - 1][c]
            if weight <= c and best[i - 1][c - weight] + value > best[i][c]:
                best[i][c] = best[i - 1][c - weight] + value
    chosen, c = [], capacity
    for i in range(len(items), 0, -1):
        if best[i][c] != best[i - 1][c]:
            chosen.append(items[i - 1][0])
            c -= items[i - 1][1]
    return best[-1][-1], sorted(chosen)


def ways(coins, amount, memo):
    key = (len(coins), amount)
    if key in memo:
        return memo[key]
    if amount == 0:
        return 1
    if amount < 0 or not coins:
        return 0
    result = ways(coins, amount - coins[0], memo) + ways(coins[1:], amount, memo)
    memo[key] = result
    return result


def fewest(coins, amount, memo):
    if amount == 0:
        return 0
    if amount in memo:
        return memo[amount]
    best = None
    for coin in coins:
        if coin <= amount:
            sub = fewest(coins, amount - coin, memo)
            if sub is not None and (best is None or sub + 1 < best):
                best = sub + 1
    memo[amount] = best
    return best


def rod_cutting(prices, length):
    revenue = [0] * (length + 1)
    cut = [0] * (length + 1)
    for n in range(1, length + 1):
        kappa.checkpoint()
        for first in range(1, min(n, len(prices)) + 1):
            candidate = prices[first - 1] + revenue[n - first]
            if candidate > revenue[n]:
                revenue[n], cut[n] = candidate, first
    pieces = []
    while length > 0:
        pieces.append(cut[length])
        length -= cut[length]
    return revenue[-1], pieces


def main():
    items = [("map", 9, 150), ("compass", 13, 35), ("water", 153, 200), ("sandwich", 50, 160),
             ("glucose", 15, 60), ("tin", 68, 45), ("banana", 27, 60), ("apple", 39, 40)]
    print("knapsack:", knapsack(items, 200))
    print("ways to change 60:", ways([25, 10, 5, 1], 60, {}))
    print("fewest coins for 63:", fewest([1, 5, 10, 21, 25], 63, {}))
    print("rod:", rod_cutting([1, 5, 8, 9, 10, 17, 17, 20], 13))
    return ways([5, 2, 1], 30, {})
