"""A long computation that needs many lambda generations.

Computes n! exactly by multiplying 1·2·…·n, taking a checkpoint every
`every` steps. With a lambda timeout shorter than the whole computation, the
task yields before each deadline and resumes in a fresh lambda from its last
checkpoint, as many times as it takes.

    kappa run examples/factorial.py --lambda-timeout 1s
"""

from kappa import checkpoint

MODULUS = 1_000_000_007


def handler(event, context):
    n = event.get("n", 150_000)
    every = event.get("every", 500)
    acc = 1
    i = 1
    while i <= n:
        acc *= i
        if i % every == 0:
            checkpoint()
        i += 1
    # n! has hundreds of thousands of digits: report fingerprints of it.
    return {"n": n, "bits": acc.bit_length(), "mod_1e9_7": acc % MODULUS}
