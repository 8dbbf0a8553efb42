"""Classes: methods, __init__ that pauses (the caller gets the instance
back), properties, inheritance and super(), dataclasses, classmethods,
private names, a class defined inside a function."""
from dataclasses import dataclass, field

from kappa.runtime import checkpoint


class Shape:
    count = 0

    def __init__(self, name):
        checkpoint()
        self.name = name
        self.__secret = name.upper()
        Shape.count += 1

    def area(self):
        return 0

    def describe(self):
        checkpoint()
        return f"{self.name}: {self.area()} ({self.__secret})"

    @classmethod
    def make(cls, *args):
        checkpoint()
        return cls(*args)


class Square(Shape):
    def __init__(self, side):
        super().__init__("square")
        checkpoint()
        self.side = side

    def area(self):
        checkpoint()
        return self.side ** 2

    @property
    def perimeter(self):
        return 4 * self.side

    def describe(self):
        base = super().describe()
        checkpoint()
        return base + f" perimeter {self.perimeter}"


@dataclass
class Point:
    x: int
    y: int = 0
    tags: list = field(default_factory=list)

    def moved(self, dx):
        checkpoint()
        return Point(self.x + dx, self.y, self.tags + ["moved"])


def local_class(n):
    class Local:
        def __init__(self, v):
            checkpoint()
            self.v = v

        def double(self):
            checkpoint()
            return self.v * 2
    return Local(n).double()


def main():
    shapes = [Square(3), Shape.make("blob"), Square.make(2)]
    for s in shapes:
        print(s.describe())
    p = Point(1).moved(2)
    print(p, p.moved(1) == Point(4, 0, ["moved", "moved"]))
    print(local_class(21), Shape.count)
    return Shape.count
