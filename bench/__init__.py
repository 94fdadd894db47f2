"""Benchmarks for road: a load generator and the comparisons in docs/performance.md.

Run from the repository root as modules, e.g. `python -m bench.loadgen --help`.
"""
