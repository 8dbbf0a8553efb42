"""String search: naive, Knuth-Morris-Pratt, Z-algorithm and Rabin-Karp
must agree on every pattern."""

import kappa

TEXT = ("abracadabra " * 3 + "the cat sat on the mat with another cat " +
        "aaaaabaaaaab" + " mississippi")


def naive(text, pattern):
    return [i for i in range(len(text) - len(pattern) + 1) if text[i:i + len(pattern)] == pattern]


def failure(pattern):
    fail = [0] * len(pattern)
    k = 0
    for i in range(1, len(pattern)):
        while k and pattern[i] != pattern[k]:
            k = fail[k - 1]
        if pattern[i] == pattern[k]:
            k += 1
        fail[i] = k
    return fail


def kmp(text, pattern):
    fail = failure(pattern)
    out, k = [], 0
    for i, ch in enumerate(text):
        while k and ch != pattern[k]:
            k = fail[k - 1]
        if ch == pattern[k]:
            k += 1
        if k == len(pattern):
            out.append(i - k + 1)
            kappa.checkpoint()
            k = fail[k - 1]
    return out


def z_array(s):
    z = [0] * len(s)
    left = right = 0
    for i in range(1, len(s)):
        if i < right:
            z[i] = min(right - i, z[i - left])
        while i + z[i] < len(s) and s[z[i]] == s[i + z[i]]:
            z[i] += 1
        if i + z[i] > right:
            left, right = i, i + z[i]
    return z


def z_search(text, pattern):
    joined = pattern + "\0" + text
    z = z_array(joined)
    return [i - len(pattern) - 1 for i in range(len(joined)) if z[i] >= len(pattern)]


def rabin_karp(text, pattern, base=257, mod=1_000_000_007):
    m = len(pattern)
    if m > len(text):
        return []
    high = pow(base, m - 1, mod)
    target = window = 0
    for i in range(m):
        target = (target * base + ord(pattern[i])) % mod
        window = (window * base + ord(text[i])) % mod
    out = []
    for i in range(len(text) - m + 1):
        if window == target and text[i:i + m] == pattern:
            out.append(i)
        if i + m < len(text):
            window = ((window - ord(text[i]) * high) * base + ord(text[i + m])) % mod
    return out


def check(pattern):
    kappa.checkpoint()
    results = [naive(TEXT, pattern), kmp(TEXT, pattern), z_search(TEXT, pattern),
               rabin_karp(TEXT, pattern)]
    return results[0], all(r == results[0] for r in results)


def main():
    agree = True
    for pattern in ["abra", "cat", "aaab", "ssi", "issi", "the", "zzz", "a", "mat with", "b"]:
        hits, same = check(pattern)
        agree = agree and same
        print(f"{pattern!r:12} {len(hits):3d} {hits[:6]}")
    print("all algorithms agree:", agree)
    return failure("abacabadabacaba")
