"""The distillation ablation of docs/distillation.md: an experiment that uses the library.

It trains with `road.training`, exports with `road.export` and times bundles through ONNX
Runtime, so it lives beside the other experiments and not inside a package it depends on.
Run it from the repository root: `make ablation`, or `python -m bench.ablation --help`.
"""
