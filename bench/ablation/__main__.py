"""`python -m bench.ablation`: the whole ablation (bench/ablation/runner.py)."""

from bench.ablation.runner import main

main()
