"""Class-heavy code: an abstract base with inheritance and super(),
properties, class and static methods, dataclasses; methods that pause
(checkpoints inside methods, methods calling each other)."""

import math
from dataclasses import dataclass, field

import kappa


class Shape:
    sides = 0

    def __init__(self, name):
        self.name = name
        self._scale = 1.0

    @property
    def scale(self):
        return self._scale

    @scale.setter
    def scale(self, value):
        if value <= 0:
            raise ValueError("scale must be positive")
        self._scale = value

    def area(self):
        raise NotImplementedError

    def perimeter(self):
        raise NotImplementedError

    def describe(self):
        kappa.checkpoint()
        return f"{self.name}: area={self.area():.3f} perimeter={self.perimeter():.3f}"

    @classmethod
    def unit(cls):
        return cls(1)

    @staticmethod
    def compare(a, b):
        return (a.area() > b.area()) - (a.area() < b.area())


class Rectangle(Shape):
    sides = 4

    def __init__(self, width, height=None):
        super().__init__("rectangle")
        self.width = width
        self.height = width if height is None else height

    def area(self):
        kappa.checkpoint()
        return self.width * self.height * self.scale ** 2

    def perimeter(self):
        return 2 * (self.width + self.height) * self.scale


class Square(Rectangle):
    def __init__(self, side):
        super().__init__(side, side)
        self.name = "square"

    def describe(self):
        return "[square] " + super().describe()


class Circle(Shape):
    def __init__(self, radius):
        super().__init__("circle")
        self.radius = radius

    def area(self):
        kappa.checkpoint()
        return math.pi * (self.radius * self.scale) ** 2

    def perimeter(self):
        return 2 * math.pi * self.radius * self.scale


@dataclass(order=True)
class Placement:
    priority: int
    label: str = field(compare=False)
    shapes: list = field(default_factory=list, compare=False)

    def total_area(self):
        total = 0.0
        for shape in self.shapes:
            total += shape.area()
        return total


def main():
    shapes = [Rectangle(3, 4), Square(2), Circle(1.5), Circle.unit(), Square.unit()]
    shapes[1].scale = 1.5
    for shape in shapes:
        print(shape.describe())
    ranked = []
    for shape in shapes:
        ranked.append((round(shape.area(), 6), shape.name))
    print("ranked:", sorted(ranked))
    print("compare:", Shape.compare(shapes[0], shapes[2]), Rectangle.sides, Circle.sides)
    layout = [Placement(2, "b", shapes[:2]), Placement(1, "a", shapes[2:])]
    for placement in sorted(layout):
        print(placement.label, round(placement.total_area(), 4))
    print(layout[0] == Placement(2, "other"))
    return round(sum(p.total_area() for p in layout), 6)
