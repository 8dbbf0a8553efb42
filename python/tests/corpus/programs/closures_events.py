"""An event bus: handlers are closures registered with a decorator and
lambdas that make pausing calls; a handler's captured state (cells) must
survive checkpoints; unsubscribe via returned closures."""

import kappa


def make_bus():
    handlers = {}

    def on(event):
        def register(fn):
            handlers.setdefault(event, []).append(fn)

            def unsubscribe():
                handlers[event].remove(fn)
            fn.unsubscribe = unsubscribe
            return fn
        return register

    def emit(event, payload):
        results = []
        for fn in list(handlers.get(event, [])):
            results.append(fn(payload))
        return results

    return on, emit


def audit(kind, payload):
    kappa.checkpoint()
    return f"{kind}:{payload}"


def main():
    on, emit = make_bus()
    totals = {"orders": 0, "revenue": 0}
    seen = []

    @on("order")
    def count_order(order):
        kappa.checkpoint()
        totals["orders"] += 1
        totals["revenue"] += order["price"] * order["qty"]
        return totals["orders"]

    @on("order")
    def remember(order):
        seen.append(order["id"])
        return audit("order", order["id"])

    on("refund")(lambda order: audit("refund", order["id"]))
    on("refund")(lambda order: totals.__setitem__("revenue", totals["revenue"] - order["price"]))

    for i in range(8):
        print("emit order", i, emit("order", {"id": i, "price": 5 + i, "qty": 1 + i % 3}))
        if i == 5:
            remember.unsubscribe()
    for i in (2, 4):
        print("emit refund", emit("refund", {"id": i, "price": 5 + i}))
    print("totals:", totals, "seen:", seen)
    return totals["revenue"]
