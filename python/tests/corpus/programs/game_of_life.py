"""Conway's game of life on a torus: a glider and a blinker, with the board
(a list of lists) as live state; population history and period detection."""

import kappa


def make_board(rows, cols, cells):
    board = [[0] * cols for _ in range(rows)]
    for r, c in cells:
        board[r][c] = 1
    return board


def live_neighbours(board, r, c):
    rows, cols = len(board), len(board[0])
    total = 0
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            if dr or dc:
                total += board[(r + dr) % rows][(c + dc) % cols]
    return total


def step(board):
    kappa.checkpoint()
    out = []
    for r, row in enumerate(board):
        new_row = []
        for c, alive in enumerate(row):
            n = live_neighbours(board, r, c)
            new_row.append(1 if n == 3 or (alive and n == 2) else 0)
        out.append(new_row)
    return out


def show(board):
    return "\n".join("".join("#" if x else "." for x in row) for row in board)


def main():
    glider = [(0, 1), (1, 2), (2, 0), (2, 1), (2, 2)]
    blinker = [(5, 5), (5, 6), (5, 7)]
    board = make_board(8, 8, glider + blinker)
    seen = {}
    history = []
    generation = 0
    while generation < 40:
        key = show(board)
        if key in seen:
            print("period", generation - seen[key], "found at generation", generation)
            break
        seen[key] = generation
        history.append(sum(map(sum, board)))
        board = step(board)
        generation += 1
    print(show(board))
    print("population:", history)
    return generation
