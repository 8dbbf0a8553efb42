"""Text transforms: run-length coding, Caesar and Vigenere ciphers with a
frequency-analysis crack, word wrapping and anagram groups."""

import kappa

ALPHA = "abcdefghijklmnopqrstuvwxyz"
ENGLISH = "etaoinshrdlcumwfgypbvkjxqz"


def rle_encode(text):
    out = []
    i = 0
    while i < len(text):
        j = i
        while j < len(text) and text[j] == text[i]:
            j += 1
        out.append(f"{j - i}{text[i]}")
        i = j
    return "".join(out)


def rle_decode(code):
    out, digits = [], ""
    for ch in code:
        if ch.isdigit():
            digits += ch
        else:
            out.append(ch * int(digits))
            digits = ""
    return "".join(out)


def shift(ch, k):
    kappa.checkpoint()
    if ch not in ALPHA:
        return ch
    return ALPHA[(ALPHA.index(ch) + k) % 26]


def caesar(text, k):
    out = ""
    for ch in text:
        out += shift(ch, k)
    return out


def vigenere(text, key, sign):
    out, i = [], 0
    for ch in text:
        if ch in ALPHA:
            out.append(ALPHA[(ALPHA.index(ch) + sign * ALPHA.index(key[i % len(key)])) % 26])
            i += 1
        else:
            out.append(ch)
    return "".join(out)


def score(text):
    return sum(26 - ENGLISH.index(ch) for ch in text if ch in ALPHA)


def crack(cipher):
    best_k, best_score = 0, -1
    for k in range(26):
        candidate = vigenere(cipher, ALPHA[k], -1)
        s = score(candidate)
        if s > best_score:
            best_k, best_score = k, s
    return best_k


def wrap(text, width):
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return lines + [line]


def anagrams(words):
    groups = {}
    for w in words:
        groups.setdefault("".join(sorted(w)), []).append(w)
    return sorted(sorted(g) for g in groups.values() if len(g) > 1)


def main():
    raw = "aaabccddddde" * 2
    code = rle_encode(raw)
    print("rle:", code, rle_decode(code) == raw)
    secret = caesar("attack at dawn, retreat at dusk", 3)
    print("caesar:", secret, "->", caesar(secret, -3))
    v = vigenere("the quick brown fox jumps over the lazy dog", "lemon", 1)
    print("vigenere:", v, "|", vigenere(v, "lemon", -1))
    print("cracked shift:", crack(caesar("meet me near the old tree at seven", 11)))
    for line in wrap("the quick brown fox jumps over the lazy dog " * 3, 22):
        print("|" + line.ljust(22) + "|")
    print("anagrams:", anagrams(["listen", "silent", "enlist", "google", "elgoog", "cat", "act", "dog"]))
    return len(code)
