"""Number theory with big integers: sieve, gcd/lcm, modular power and
inverse, deterministic Miller-Rabin, Fibonacci by fast doubling, RSA."""

import kappa


def sieve(n):
    flags = [True] * (n + 1)
    flags[0] = flags[1] = False
    for p in range(2, int(n ** 0.5) + 1):
        if flags[p]:
            kappa.checkpoint()
            for m in range(p * p, n + 1, p):
                flags[m] = False
    return [i for i, f in enumerate(flags) if f]


def gcd(a, b):
    while b:
        a, b = b, a % b
    return a


def egcd(a, b):
    if b == 0:
        return a, 1, 0
    g, x, y = egcd(b, a % b)
    return g, y, x - (a // b) * y


def modinv(a, m):
    g, x, _ = egcd(a, m)
    return x % m if g == 1 else None


def power(base, exp, mod):
    result = 1
    base %= mod
    while exp:
        if exp & 1:
            result = result * base % mod
        base = base * base % mod
        exp >>= 1
    return result


def is_prime(n):
    if n < 2:
        return False
    for p in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for a in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):
        if not witness_passes(a, d, s, n):
            return False
    return True


def witness_passes(a, d, s, n):
    x = power(a, d, n)
    if x in (1, n - 1):
        return True
    for _ in range(s - 1):
        x = x * x % n
        if x == n - 1:
            return True
    return False


def fib_pair(n):
    if n == 0:
        return 0, 1
    a, b = fib_pair(n // 2)
    c = a * (2 * b - a)
    d = a * a + b * b
    return (d, c + d) if n % 2 else (c, d)


def next_prime(n):
    while not is_prime(n):
        n += 1
    return n


def main():
    primes = sieve(200)
    print("primes below 200:", len(primes), primes[-5:])
    print("gcd/lcm:", gcd(462, 1071), 462 * 1071 // gcd(462, 1071))
    f = fib_pair(300)[0]
    print("fib(300) =", f)
    p, q = next_prime(10**12), next_prime(10**12 + 10**6)
    n, phi = p * q, (p - 1) * (q - 1)
    e = 65537
    d = modinv(e, phi)
    message = 424242424242
    cipher = power(message, e, n)
    print("rsa:", p, q, cipher, power(cipher, d, n) == message)
    exponents = []
    for k in range(2, 64):
        if is_prime(2**k - 1):
            exponents.append(k)
    print("mersenne exponents:", exponents)
    return f % 1000003
