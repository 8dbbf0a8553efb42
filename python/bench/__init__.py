"""Benchmarks of the Kappa compiler and checkpoints (not tests).

    cd python && python -m bench.compiler_overhead
    cd python && python -m bench.checkpoint_cost
"""
