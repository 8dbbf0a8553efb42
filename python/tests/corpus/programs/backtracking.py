"""Backtracking: N-queens (all solutions for n=6, count for n=7), a sudoku
solver with constraint propagation, and subset sums."""

import kappa

PUZZLE = [
    "53..7....", "6..195...", ".98....6.", "8...6...3", "4..8.3..1",
    "7...2...6", ".6....28.", "...419..5", "....8..79",
]


def queens(n, row, cols, diag1, diag2, placed, out):
    if row == n:
        out.append(list(placed))
        return
    kappa.checkpoint()
    for c in range(n):
        if c in cols or row - c in diag1 or row + c in diag2:
            continue
        cols.add(c)
        diag1.add(row - c)
        diag2.add(row + c)
        placed.append(c)
        queens(n, row + 1, cols, diag1, diag2, placed, out)
        placed.pop()
        cols.discard(c)
        diag1.discard(row - c)
        diag2.discard(row + c)


def candidates(grid, r, c):
    used = set(grid[r]) | {grid[i][c] for i in range(9)}
    br, bc = 3 * (r // 3), 3 * (c // 3)
    used |= {grid[i][j] for i in range(br, br + 3) for j in range(bc, bc + 3)}
    return [d for d in "123456789" if d not in used]


def solve(grid):
    best = None
    for r in range(9):
        for c in range(9):
            if grid[r][c] == ".":
                options = candidates(grid, r, c)
                if best is None or len(options) < len(best[2]):
                    best = (r, c, options)
    if best is None:
        return True
    r, c, options = best
    kappa.checkpoint()
    for d in options:
        grid[r][c] = d
        if solve(grid):
            return True
    grid[r][c] = "."
    return False


def subset_sums(items, target, start, chosen, out):
    if target == 0:
        out.append(list(chosen))
        return
    for i in range(start, len(items)):
        if items[i] <= target:
            chosen.append(items[i])
            subset_sums(items, target - items[i], i + 1, chosen, out)
            chosen.pop()


def main():
    six = []
    queens(6, 0, set(), set(), set(), [], six)
    print("6-queens:", six)
    seven = []
    queens(7, 0, set(), set(), set(), [], seven)
    print("7-queens count:", len(seven))
    grid = [list(row) for row in PUZZLE]
    print("sudoku solved:", solve(grid))
    for row in grid:
        print("".join(row))
    sums = []
    subset_sums([3, 34, 4, 12, 5, 2, 9, 7], 16, 0, [], sums)
    print("subsets summing to 16:", sums)
    return len(seven)
