"""Text processing: normalise, tokenise, count words and bigrams, top-k,
and a concordance; dict iterators live across checkpoints."""

import kappa

TEXT = """It was the best of times, it was the worst of times, it was the age of
wisdom, it was the age of foolishness, it was the epoch of belief, it was the
epoch of incredulity, it was the season of Light, it was the season of
Darkness, it was the spring of hope, it was the winter of despair, we had
everything before us, we had nothing before us."""

STOP = {"it", "was", "the", "of", "we", "us"}


def normalise(line):
    kappa.checkpoint()
    out = []
    for ch in line.lower():
        out.append(ch if ch.isalpha() or ch == " " else " ")
    return "".join(out)


def tokens(text):
    words = []
    for line in text.splitlines():
        words.extend(normalise(line).split())
    return words


def count(words):
    freq = {}
    for w in words:
        freq[w] = freq.get(w, 0) + 1
    return freq


def top(freq, k):
    ranked = sorted(freq.items(), key=lambda kv: (-kv[1], kv[0]))
    return ranked[:k]


def bigrams(words):
    pairs = {}
    for a, b in zip(words, words[1:]):
        if a not in STOP and b not in STOP:
            pairs[(a, b)] = pairs.get((a, b), 0) + 1
    return pairs


def concordance(words, keyword, width):
    lines = []
    for i, w in enumerate(words):
        if w == keyword:
            kappa.checkpoint()
            left = " ".join(words[max(0, i - width):i])
            right = " ".join(words[i + 1:i + 1 + width])
            lines.append(f"{left:>24} [{w}] {right}")
    return lines


def main():
    words = tokens(TEXT)
    freq = count(words)
    content = {w: n for w, n in freq.items() if w not in STOP}
    for word, n in top(freq, 5):
        print(f"{word:8s} {n}")
    for word, n in content.items():
        if n > 1:
            kappa.checkpoint()
            print("content word:", word, n)
    print("bigrams:", sorted(bigrams(words).items())[:4])
    for line in concordance(words, "age", 3) + concordance(words, "season", 2):
        print(line)
    return len(words), len(freq)
