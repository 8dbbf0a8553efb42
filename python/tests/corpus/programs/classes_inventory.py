"""An inventory with dataclasses, inheritance and super() chains whose
methods pause; __repr__/__eq__ from dataclasses; a class-level id counter
and properties computed from live state."""

from dataclasses import dataclass, field

import kappa


@dataclass
class Item:
    sku: str
    price: int
    qty: int = 0

    @property
    def value(self):
        return self.price * self.qty


@dataclass
class Perishable(Item):
    days_left: int = 7

    @property
    def value(self):
        base = super().value
        return base // 2 if self.days_left < 3 else base


class Store:
    def __init__(self, name):
        self.name = name
        self.items = {}
        self.log = []

    def add(self, item):
        kappa.checkpoint()
        self.items[item.sku] = item
        self.log.append(f"add {item.sku}")
        return item

    def sell(self, sku, qty):
        item = self.items[sku]
        kappa.checkpoint()
        sold = min(qty, item.qty)
        item.qty -= sold
        self.log.append(f"sell {sku} {sold}")
        return sold * item.price

    def age(self):
        for item in self.items.values():
            if isinstance(item, Perishable):
                kappa.checkpoint()
                item.days_left -= 1

    def worth(self):
        return sum(item.value for item in self.items.values())


class AuditedStore(Store):
    def __init__(self, name):
        super().__init__(name)
        self.audits = 0

    def sell(self, sku, qty):
        self.audits += 1
        income = super().sell(sku, qty)
        self.log.append(f"audit {self.audits}")
        return income


@dataclass
class Report:
    store: str
    income: int
    worth: int
    lines: list = field(default_factory=list)


def main():
    shop = AuditedStore("corner")
    shop.add(Item("pen", 3, 100))
    shop.add(Item("book", 25, 10))
    shop.add(Perishable("milk", 2, 30, days_left=4))
    shop.add(Perishable("bread", 4, 12, days_left=2))
    income = 0
    for day in range(5):
        income += shop.sell("pen", 7 + day)
        income += shop.sell("milk", 5)
        if day % 2:
            income += shop.sell("book", 1)
        shop.age()
        print(f"day {day}: income={income} worth={shop.worth()}")
    report = Report(shop.name, income, shop.worth(), shop.log[-4:])
    print(report)
    print(shop.items["milk"], shop.items["milk"] == Perishable("milk", 2, 5, 0))
    return report.income, shop.audits
