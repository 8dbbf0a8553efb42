"""Exact linear algebra with fractions: Gaussian elimination, determinant,
inverse, matrix product, and solving a Hilbert system."""

from fractions import Fraction

import kappa


def hilbert(n):
    return [[Fraction(1, i + j + 1) for j in range(n)] for i in range(n)]


def matmul(a, b):
    out = []
    for row in a:
        kappa.checkpoint()
        out.append([sum(x * y for x, y in zip(row, col)) for col in zip(*b)])
    return out


def identity(n):
    return [[Fraction(int(i == j)) for j in range(n)] for i in range(n)]


def eliminate(m, pivot_row, col):
    kappa.checkpoint()
    for r in range(len(m)):
        if r != pivot_row and m[r][col] != 0:
            factor = m[r][col] / m[pivot_row][col]
            m[r] = [x - factor * y for x, y in zip(m[r], m[pivot_row])]


def gauss_jordan(a, b):
    n = len(a)
    m = [list(a[i]) + list(b[i]) for i in range(n)]
    det = Fraction(1)
    for col in range(n):
        pivot = None
        for r in range(col, n):
            if m[r][col] != 0:
                pivot = r
                break
        if pivot is None:
            return Fraction(0), None
        if pivot != col:
            m[col], m[pivot] = m[pivot], m[col]
            det = -det
        det *= m[col][col]
        eliminate(m, col, col)
    solution = [[x / m[i][i] for x in m[i][n:]] for i in range(n)]
    return det, solution


def main():
    h = hilbert(4)
    det, inverse = gauss_jordan(h, identity(4))
    print("det(H4) =", det)
    print("inverse row 0:", [str(x) for x in inverse[0]])
    print("H * H^-1 == I:", matmul(h, inverse) == identity(4))
    b = [[Fraction(1)] for _ in range(4)]
    _, x = gauss_jordan(h, b)
    print("solution:", [str(v[0]) for v in x])
    singular = [[Fraction(1), Fraction(2)], [Fraction(2), Fraction(4)]]
    print("singular det:", gauss_jordan(singular, identity(2))[0])
    return str(sum(sum(row) for row in inverse))
