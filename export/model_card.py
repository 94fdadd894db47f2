"""MODEL_CARD.md: a bundle's model card, rendered from its manifest so the two never disagree.

Everything measured (dev metrics of the checkpoint and of the shipped graph, per task and per
class, the teachers' fingerprints and metrics, the recipe) comes from the manifest; what
`road export` cannot measure (speed on a machine, failure modes read off real answers) comes
from an optional hand-written notes file appended at the end.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from road.core.bundle import Manifest

MODEL_CARD = "MODEL_CARD.md"
SPAN_ROWS = (
    ("HasAns F1", "HasAns_f1"),
    ("HasAns EM", "HasAns_exact"),
    ("total F1 (answerable + unanswerable)", "f1"),
    ("total EM", "exact"),
    ("NoAns accuracy", "NoAns_exact"),
    ("NoAns, other-article negatives", "NoAns_cross_article_acc"),
    ("NoAns, same-article negatives", "NoAns_same_article_acc"),
    ("null threshold", "null_threshold"),
)
CLASS_ROWS = (("accuracy", "accuracy"), ("macro F1", "macro_f1"), ("ECE", "ece"))


def write_model_card(
    bundle_dir: Path, manifest: Manifest, model: Mapping[str, Any], notes: Path | None
) -> None:
    """Write MODEL_CARD.md into a staged bundle (before its manifest hashes the files)."""
    extra = notes.read_text() if notes is not None else None
    (bundle_dir / MODEL_CARD).write_text(render_model_card(manifest, model, extra))


def render_model_card(
    manifest: Manifest, model: Mapping[str, Any], notes: str | None = None
) -> str:
    """The card's markdown; `model` holds the encoder's shape (layers, hidden, parameters)."""
    prov, quality = manifest.provenance, manifest.quality
    config = prov.get("train_config", {})
    # The provenance record keeps each task's training settings under the task's name.
    tasks = [config[name] for name in manifest.tasks if isinstance(config.get(name), dict)]
    parts = [
        _header(manifest, model, config),
        _data(tasks),
        _recipe(config, tasks),
        _teachers(prov.get("teachers") or {}),
        _metrics(quality.get("pytorch", {}), quality.get("onnx", {}), manifest),
    ]
    if notes:
        parts.append(notes.strip())
    return "\n\n".join(part for part in parts if part) + "\n"


def _header(manifest: Manifest, model: Mapping[str, Any], config: Mapping[str, Any]) -> str:
    tasks = ", ".join(manifest.tasks)
    distilled = "distilled" if config.get("distill") else "fine-tuned (no distillation)"
    shape = ", ".join(f"{key} {value}" for key, value in model.items())
    return "\n".join([
        f"# Model card: road bundle ({tasks})",
        "",
        f"A multi-task ELECTRA-style encoder, {distilled}, with one head per task ({tasks}) "
        "over one shared encoder pass.",
        "",
        f"- Encoder: {shape}; init `{config.get('init')}`.",
        f"- Graph: {manifest.target}, {manifest.precision}"
        + (f" ({manifest.quantization} quantization)" if manifest.quantization else "")
        + f", fusions: {', '.join(manifest.fusions) or 'none'}.",
        f"- Built by road {manifest.provenance.get('road_version')} on "
        f"{manifest.provenance.get('created')}; numbers below are this bundle's manifest.",
    ])  # fmt: skip


def _data(tasks: list[Mapping[str, Any]]) -> str:
    lines = ["## Data", "", "| task | train | train limit | dev | negatives |", "|---" * 5 + "|"]
    for task in tasks:
        negatives = "—"
        if task.get("kind") == "span_extraction":
            negatives = (
                f"{task.get('negative_fraction', 0):g} unanswerable, of which "
                f"{task.get('same_article_fraction', 0):g} from the same article"
            )
        lines.append(
            f"| {task['name']} | `{task.get('train')}` | {task.get('train_limit') or 'all'} "
            f"| `{task.get('dev')}` | {negatives} |"
        )
    return "\n".join(lines)


def _recipe(config: Mapping[str, Any], tasks: list[Mapping[str, Any]]) -> str:
    keys = ("steps", "lr", "warmup_ratio", "seed", "task_weights", "init_heads", "layers",
            "precision", "freeze_word_embeddings")  # fmt: skip
    lines = ["## Recipe", ""]
    lines += [f"- `{key}`: {config[key]}" for key in keys if config.get(key) not in (None, {}, [])]
    shapes = [f"{t['name']} {t.get('batch_size')} × {t.get('max_seq_len')}" for t in tasks]
    lines.append("- batch × max length per task: " + ", ".join(shapes))
    distill = config.get("distill")
    if distill:
        settings = ("combine", "wrong_weight", "temperature", "gold_weight", "anneal", "hidden_mse")
        lines.append("- distillation: " + ", ".join(f"{k} {distill.get(k)}" for k in settings))
    if config.get("smart"):
        lines.append(f"- SMART: {config['smart']}")
    return "\n".join(lines)


def _teachers(teachers: Mapping[str, list[Mapping[str, Any]]]) -> str:
    if not teachers:
        return ""
    lines = ["## Teachers", "", "| task | teacher | weights fingerprint | its dev metrics |",
             "|---|---|---|---|"]  # fmt: skip
    for task, entries in teachers.items():
        for entry in entries:
            fingerprint = entry.get("fingerprint")
            shown = f"`{fingerprint[:16]}…`" if fingerprint else f"missing: {entry.get('missing')}"
            metrics = _headline(entry.get("dev_metrics"))
            lines.append(f"| {task} | `{entry['source']}` | {shown} | {metrics} |")
    return "\n".join(lines)


def _headline(metrics: Mapping[str, Any] | None) -> str:
    if not metrics:
        return "not recorded"
    if "HasAns_f1" in metrics:
        return f"HasAns F1 {metrics['HasAns_f1']:.2f}, NoAns {metrics.get('NoAns_exact', 0):.1f}%"
    return f"accuracy {metrics.get('accuracy', 0):.2f}%"


def _metrics(pytorch: Mapping[str, Any], onnx: Mapping[str, Any], manifest: Manifest) -> str:
    limit = manifest.quality.get("dev_limit")
    lines = [
        "## Dev metrics",
        "",
        f"Full dev files unless the gate's `dev_limit` ({limit}) says otherwise; the checkpoint "
        "in PyTorch and this bundle's graph in ONNX Runtime.",
    ]
    for task in manifest.tasks:
        source, bundle = pytorch.get(task, {}), onnx.get(task, {})
        rows = SPAN_ROWS if "HasAns_f1" in bundle else CLASS_ROWS
        lines += ["", f"### {task}", "", "| metric | checkpoint | bundle |", "|---|---|---|"]
        for label, key in rows:
            if key in bundle or key in source:
                lines.append(f"| {label} | {_num(source.get(key))} | {_num(bundle.get(key))} |")
        per_class = _per_class(bundle)
        if per_class:
            lines.append(per_class)
    return "\n".join(lines)


def _per_class(metrics: Mapping[str, Any]) -> str:
    recall, f1 = metrics.get("per_class_recall"), metrics.get("per_class_f1")
    confusion = metrics.get("confusion")
    if not recall:
        return ""
    labels = list(recall)
    lines = ["", "Per class (bundle): gold ↓, predicted →", "",
             "| gold | " + " | ".join(labels) + " | recall | F1 |",
             "|---" * (len(labels) + 3) + "|"]  # fmt: skip
    for gold in labels:
        counts = [str(confusion[gold][pred]) if confusion else "" for pred in labels]
        lines.append(
            f"| {gold} | " + " | ".join(counts)
            + f" | {_num(recall[gold])} | {_num((f1 or {}).get(gold))} |"
        )  # fmt: skip
    return "\n".join(lines)


def _num(value: Any) -> str:
    return "—" if value is None else f"{value:.2f}" if isinstance(value, float) else str(value)
