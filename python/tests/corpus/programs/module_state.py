"""Module-level mutable state without `global`: a registry dict, a class
attribute counting instances, a memo cache in a mutable default argument
and a counter kept as a function attribute. All of it is program state a
restore must bring back (the architecture: a checkpoint holds the program
module's globals)."""

import kappa

REGISTRY = {}
EVENTS = []


class Job:
    created = 0            # class attribute, bumped by every instance

    def __init__(self, name, cost):
        Job.created += 1
        self.number = Job.created
        self.name = name
        self.cost = cost


def fib(n, memo={0: 0, 1: 1}):   # noqa: B006 - the classic memo idiom
    k = max(memo)
    while k < n:
        k += 1
        memo[k] = memo[k - 1] + memo[k - 2]
    return memo[n]


def submit(name, cost):
    kappa.checkpoint()
    job = Job(name, cost)
    REGISTRY[name] = job
    EVENTS.append(("submit", job.number))
    submit.calls = getattr(submit, "calls", 0) + 1
    return job


def run_all():
    total = 0
    for name in sorted(REGISTRY):
        kappa.checkpoint()
        total += fib(REGISTRY[name].cost)
        EVENTS.append(("run", name))
    return total


def main():
    for i in range(12):
        submit(f"job{i:02d}", 10 + i * 3)
    total = run_all()
    print("jobs created:", Job.created, "submit calls:", submit.calls)
    print("numbers:", [REGISTRY[n].number for n in sorted(REGISTRY)])
    print("memo size:", len(fib.__defaults__[0]), "events:", len(EVENTS))
    return total
