"""Dynamic programming on sequences: longest common subsequence with
reconstruction, edit distance with an operation script, longest increasing
subsequence (patience sorting with bisect)."""

import bisect

import kappa


def lcs_table(a, b):
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        kappa.checkpoint()
        for j in range(1, len(b) + 1):
            if a[i - 1] == b[j - 1]:
                table[i][j] = table[i - 1][j - 1] + 1
            else:
                table[i][j] = max(table[i - 1][j], table[i][j - 1])
    return table


def lcs(a, b):
    table = lcs_table(a, b)
    i, j, out = len(a), len(b), []
    while i and j:
        if a[i - 1] == b[j - 1]:
            out.append(a[i - 1])
            i -= 1
            j -= 1
        elif table[i - 1][j] >= table[i][j - 1]:
            i -= 1
        else:
            j -= 1
    return "".join(reversed(out))


def edit_distance(a, b):
    prev = list(range(len(b) + 1))
    ops = [["i" * j for j in range(len(b) + 1)]]
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        row = ["d" * i] + [""] * len(b)
        for j in range(1, len(b) + 1):
            cost = cheapest(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1]))
            cur[j] = cost
            if cost == prev[j - 1] + (a[i - 1] != b[j - 1]):
                row[j] = ops[-1][j - 1] + ("=" if a[i - 1] == b[j - 1] else "s")
            elif cost == prev[j] + 1:
                row[j] = ops[-1][j] + "d"
            else:
                row[j] = row[j - 1] + "i"
        prev = cur
        ops.append(row)
    return prev[-1], ops[-1][-1]


def cheapest(*costs):
    return min(costs)


def lis(xs):
    tails, index_of, parent = [], [], [None] * len(xs)
    for i, x in enumerate(xs):
        kappa.checkpoint()
        k = bisect.bisect_left(tails, x)
        if k == len(tails):
            tails.append(x)
            index_of.append(i)
        else:
            tails[k] = x
            index_of[k] = i
        parent[i] = index_of[k - 1] if k else None
    out, i = [], index_of[-1] if index_of else None
    while i is not None:
        out.append(xs[i])
        i = parent[i]
    return out[::-1]


def main():
    pairs = [("kitten", "sitting"), ("sunday", "saturday"), ("dynamic", "programming")]
    total = 0
    for a, b in pairs:
        distance, script = edit_distance(a, b)
        common = lcs(a, b)
        print(f"{a} -> {b}: distance {distance} script {script} lcs {common!r}")
        total += distance + len(common)
    seq = [(i * 7919) % 101 for i in range(30)]
    longest = lis(seq)
    print("lis:", len(longest), longest)
    return total
