"""Breadth-first search on a grid maze (a deque kept across checkpoints),
shortest path reconstruction and connected components."""

from collections import deque

import kappa

MAZE = [
    "S.#.......",
    ".##.####..",
    "....#..#.#",
    "#.#.#.##..",
    "..#...#..#",
    ".####.#.#.",
    "......#..E",
]


def find(grid, ch):
    for r, row in enumerate(grid):
        c = row.find(ch)
        if c >= 0:
            return (r, c)
    return None


def neighbours(grid, cell):
    kappa.checkpoint()
    r, c = cell
    out = []
    for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        nr, nc = r + dr, c + dc
        if 0 <= nr < len(grid) and 0 <= nc < len(grid[0]) and grid[nr][nc] != "#":
            out.append((nr, nc))
    return out


def bfs(grid, start):
    dist = {start: 0}
    parent = {start: None}
    queue = deque([start])
    while queue:
        cell = queue.popleft()
        for nxt in neighbours(grid, cell):
            if nxt not in dist:
                dist[nxt] = dist[cell] + 1
                parent[nxt] = cell
                queue.append(nxt)
    return dist, parent


def path_to(parent, goal):
    path = []
    cell = goal
    while cell is not None:
        path.append(cell)
        cell = parent[cell]
    path.reverse()
    return path


def components(grid):
    seen = set()
    sizes = []
    for r in range(len(grid)):
        for c in range(len(grid[0])):
            if grid[r][c] != "#" and (r, c) not in seen:
                dist, _ = bfs(grid, (r, c))
                seen.update(dist)
                sizes.append(len(dist))
    return sizes


def main():
    start, goal = find(MAZE, "S"), find(MAZE, "E")
    dist, parent = bfs(MAZE, start)
    path = path_to(parent, goal)
    print("distance:", dist[goal])
    print("path:", " ".join(f"{r},{c}" for r, c in path))
    print("components:", components(MAZE))
    return len(path)
