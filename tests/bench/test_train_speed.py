"""bench.train_speed: every variant is a valid training config; the table's ratios."""

from __future__ import annotations

from bench.train_speed import FAST, TASK_CONFIG, VARIANTS, format_row, variant_overrides
from road.training.config import load_config


def test_every_variant_loads_as_a_training_config() -> None:
    for task, path in TASK_CONFIG.items():
        before = load_config(path, variant_overrides(VARIANTS[0]))
        assert before.precision == "fp32" and before.attn_implementation is None
        assert before.attention_dropout is None and before.length_group_batches == 0
        assert not before.freeze_word_embeddings
        fast = load_config(path, variant_overrides(FAST))
        assert fast.precision == "bf16" and fast.attn_implementation == "eager"
        assert fast.attention_dropout == 0.0 and fast.freeze_word_embeddings
        assert fast.length_group_batches == 50 and getattr(fast, task) is not None


def test_variants_add_one_change_each() -> None:
    fields = ("precision", "attn_implementation", "freeze_word_embeddings", "length_group_batches")
    for before, after in zip(VARIANTS, VARIANTS[1:]):
        changed = [f for f in fields if getattr(before, f) != getattr(after, f)]
        assert len(changed) == 1, (before.name, after.name, changed)


def test_row_ratio_is_against_the_tasks_first_variant() -> None:
    runs = [
        {"task": "qa", "variant": "a", "s_per_step": 4.0, "examples_per_s": 4.0,
         "padding_efficiency": 0.7},
        {"task": "qa", "variant": "b", "s_per_step": 1.0, "examples_per_s": 14.0,
         "padding_efficiency": 0.98},
    ]  # fmt: skip
    assert "3.50x" in format_row(runs[1], runs) and "0.98" in format_row(runs[1], runs)
