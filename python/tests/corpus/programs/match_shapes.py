"""match statements: class patterns on dataclasses, sequence patterns with
star captures, mapping patterns with **rest, guards, or-patterns, value
patterns, and pauses inside case bodies and guards."""

from dataclasses import dataclass

import kappa


@dataclass
class Point:
    x: int
    y: int


@dataclass
class Circle:
    center: Point
    radius: int


@dataclass
class Segment:
    start: Point
    end: Point


class Codes:
    ZERO = 0


def weigh(value):
    kappa.checkpoint()
    return value


def classify(shape):
    match shape:
        case Point(x=0, y=0):
            return "origin"
        case Point(x=0) | Point(y=0):
            return "on an axis"
        case Point(x=x, y=y) if weigh(x) == weigh(y):
            return f"diagonal at {x}"
        case Circle(center=Point(x=cx, y=cy), radius=r) if r > weigh(5):
            return f"big circle at {cx},{cy}"
        case Circle(radius=r):
            return f"circle r={weigh(r)}"
        case Segment(Point(x1, y1), Point(x2, y2)) if x1 == x2:
            return f"vertical length {abs(weigh(y2 - y1))}"
        case Segment():
            return "segment"
        case _:
            return "unknown"


def command(cmd):
    match cmd:
        case ["go", direction]:
            return f"going {weigh(direction)}"
        case ["take", item, *rest] if rest:
            return f"take {item} and {len(rest)} more"
        case ["take", item]:
            return f"take {item}"
        case {"action": "drop", "item": item, **rest}:
            return f"drop {item} {sorted(rest)}"
        case {"action": action}:
            return f"action {weigh(action)}"
        case [int(a), int(b)] | (int(a), int(b), _):
            return f"numbers {weigh(a + b)}"
        case str() as text:
            return f"text {text.upper()}"
        case Codes.ZERO:
            return "zero"
    return "unmatched"


def main():
    shapes = [Point(0, 0), Point(0, 4), Point(3, 3), Point(2, 5), Circle(Point(1, 2), 7),
              Circle(Point(0, 0), 2), Segment(Point(1, 1), Point(1, 9)),
              Segment(Point(0, 0), Point(3, 4)), "nope"]
    for shape in shapes:
        print(classify(shape))
    commands = [["go", "north"], ["take", "lamp"], ["take", "key", "coin", "map"],
                {"action": "drop", "item": "lamp", "where": "here"}, {"action": "look"},
                [3, 4], (1, 2, 3), "hello", 0, 99]
    for cmd in commands:
        print(command(cmd))
    return len(shapes) + len(commands)
