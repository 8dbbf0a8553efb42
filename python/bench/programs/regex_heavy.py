"""Regular-expression-heavy work (after pyperformance's regex_effbot and
regex_v8): compiled patterns searched, matched and substituted over
generated text, with Python code around every match."""

import re

WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
EMAIL = re.compile(r"([a-z]+)\.([a-z]+)@([a-z]+)\.(com|org|net)")
DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
WORD = re.compile(r"\b([a-z]{4,})\b")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def make_text(lines):
    out = []
    for i in range(lines):
        w1, w2 = WORDS[i % 8], WORDS[(i * 3) % 8]
        out.append(f"{w1}.{w2}@{WORDS[(i * 5) % 8]}.org wrote on 20{i % 30:02d}-{1 + i % 12:02d}-"
                   f"{1 + i % 28:02d}: value {i * 7 - 300} ratio {i / 7:.3f} {w2} {w1}")
    return "\n".join(out)


def emails(text):
    found = {}
    for m in EMAIL.finditer(text):
        domain = m.group(3)
        found[domain] = found.get(domain, 0) + 1
    return found


def iso_to_us(text):
    return DATE.sub(lambda m: f"{m.group(2)}/{m.group(3)}/{m.group(1)}", text)


def word_lengths(text):
    total = 0
    for m in WORD.finditer(text):
        total += len(m.group(1))
    return total


def numbers(text):
    return sum(float(x) for x in NUMBER.findall(text))


def main(rounds=60, lines=800):
    text = make_text(lines)
    result = 0.0
    for _ in range(rounds):
        result += len(emails(text)) + word_lengths(text) + numbers(text) * 1e-6
        result += len(iso_to_us(text))
    return round(result, 3)
