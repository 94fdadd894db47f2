"""`python -m bench.ablation`: the ablation's runs, one or all (bench/ablation/runner.py)."""

from bench.ablation.runner import main

raise SystemExit(main())
