from kappa.runtime import checkpoint

COUNTS = {"calls": 0}
HISTORY = []
ALIAS = HISTORY


class Account:
    def __init__(self, owner):
        self.owner = owner
        self.balance = 0

    def deposit(self, amount):
        self.balance += amount
        return self.balance


BANK = Account("bank")


def record(event):
    COUNTS["calls"] += 1
    HISTORY.append(event)
    checkpoint()
    return len(HISTORY)


def transfer(src, dst, amount):
    record(("withdraw", src.owner, amount))
    src.balance -= amount
    record(("deposit", dst.owner, amount))
    dst.deposit(amount)


def main():
    alice = Account("alice")
    alice.deposit(100)
    for amount in (10, 20, 30):
        transfer(alice, BANK, amount)
    print(alice.balance, BANK.balance)
    print(COUNTS, HISTORY is ALIAS, len(ALIAS))
    return HISTORY
