"""A stack machine whose instructions are tuples dispatched with match;
it runs a loop that sums squares and a recursive factorial via call/ret,
pausing at every instruction boundary of a jump."""

import kappa

PROGRAM = [
    ("push", 0), ("store", "acc"), ("push", 1), ("store", "i"),
    ("label", "loop"),
    ("load", "i"), ("push", 6), ("cmp", "<="), ("jz", "done"),
    ("load", "acc"), ("load", "i"), ("load", "i"), ("op", "*"), ("op", "+"), ("store", "acc"),
    ("load", "i"), ("push", 1), ("op", "+"), ("store", "i"),
    ("jmp", "loop"),
    ("label", "done"),
    ("load", "acc"), ("print",),
    ("push", 5), ("call", "fact"), ("print",),
    ("halt",),
    ("label", "fact"),
    ("dup",), ("push", 1), ("cmp", "<="), ("jz", "recurse"), ("ret",),
    ("label", "recurse"),
    ("dup",), ("push", 1), ("op", "-"), ("call", "fact"), ("op", "*"), ("ret",),
]


def labels(program):
    return {ins[1]: pc for pc, ins in enumerate(program) if ins[0] == "label"}


def binary(op, a, b):
    match op:
        case "+":
            return a + b
        case "-":
            return a - b
        case "*":
            return a * b
        case "<=":
            return int(a <= b)
        case "<":
            return int(a < b)
    raise ValueError(op)


def run(program):
    targets = labels(program)
    stack, frames, env, out = [], [], {}, []
    pc = 0
    steps = 0
    while True:
        steps += 1
        match program[pc]:
            case ("push", value):
                stack.append(value)
            case ("load", name):
                stack.append(env[name])
            case ("store", name):
                env[name] = stack.pop()
            case ("op", op) | ("cmp", op):
                b, a = stack.pop(), stack.pop()
                stack.append(binary(op, a, b))
            case ("dup",):
                stack.append(stack[-1])
            case ("jz", target):
                if stack.pop() == 0:
                    kappa.checkpoint()
                    pc = targets[target]
            case ("jmp", target):
                kappa.checkpoint()
                pc = targets[target]
            case ("call", target):
                kappa.checkpoint()
                frames.append(pc)
                pc = targets[target]
            case ("ret",):
                pc = frames.pop()
            case ("print",):
                out.append(stack.pop())
                print("vm prints", out[-1])
            case ("label", _):
                pass
            case ("halt",):
                return out, steps
        pc += 1


def main():
    out, steps = run(PROGRAM)
    print("steps:", steps)
    return out
