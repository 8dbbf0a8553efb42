"""match statements: a subject that pauses, pauses in case bodies and in
guards (a failing guard goes on to the next cases)."""
from kappa.runtime import checkpoint


def slow(x):
    checkpoint()
    return x


def classify(command):
    match slow(command):
        case ["go", direction] if slow(direction) in ("north", "south"):
            slow("moving")
            return "go " + direction
        case ["go", direction]:
            return "cannot go " + slow(direction)
        case {"say": text} if slow(len(text)) > 3:
            return "says " + text
        case {"say": text}:
            return "mumbles " + text
        case int(n) | float(n) if slow(n) > 100:
            return "big"
        case _:
            slow("default")
            return "unknown"


def main():
    commands = [["go", "north"], ["go", "west"], {"say": "hello"}, {"say": "hi"}, 500, 5]
    out = [classify(c) for c in commands]
    print(out)
    return out
