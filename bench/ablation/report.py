"""The results section of docs/distillation.md, rewritten from summary.json between markers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.ablation import speed
from bench.ablation.runs import BASE_SEED, RUNS, parse_name, run_name

DOC = Path("docs/distillation.md")
PLOTS = Path("docs/img/distillation")
BEGIN, END = "<!-- ablation:begin -->", "<!-- ablation:end -->"
# Issue 17's bars: the no-KD student has learned; a distilled one keeps 90% and gains 1 point.
LEARNED = {"qa_f1": 50.0, "nli_acc": 60.0}
TEACHER_SHARE, GAIN = 90.0, 1.0
TASKS = (("qa_f1", "QA HasAns F1"), ("nli_acc", "NLI accuracy"))
BASELINE = RUNS[0].name


def plot(name: str, log: Path) -> None:
    """The run's training curve, if its log is here and matplotlib is installed."""
    if not log.is_file():
        return
    try:
        from bench.ablation.curves import plot_curve

        plot_curve(log, PLOTS / f"{name}.png", name)
    except ImportError:  # a GPU image without matplotlib: `--summary` replots from the log
        return


def replot(entries: list[dict[str, Any]]) -> None:
    for entry in entries:
        if "output_dir" in entry:
            plot(entry["name"], Path(entry["output_dir"]) / "log.jsonl")


def num(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def recall(entry: dict[str, Any]) -> str:
    per_class = entry.get("nli_recall") or {}
    return " / ".join(f"{value:.0f}" for value in per_class.values()) or "–"


def row(entry: dict[str, Any]) -> str:
    trained_here = "output_dir" in entry  # teachers were trained before, elsewhere
    machine = entry.get("machine") or {}
    threads = machine.get("torch_threads", "?")
    where = machine.get("gpu") or f"CPU, {threads} thread{'' if threads == 1 else 's'}"
    wall = "–" if entry.get("wall_s") is None else f"{entry['wall_s'] / 60:.0f} min"
    png = PLOTS / f"{entry['name']}.png"
    curve = f"[png](img/distillation/{png.name})" if trained_here and png.is_file() else "–"
    where = where if trained_here else "–"
    noans = f"{num(entry['noans_acc'])} ({num(entry.get('noans_same_article_acc'))})"
    return (
        f"| {entry['name']} | {entry['layers']} | {entry['method']} | {num(entry['qa_f1'])} "
        f"| {num(entry['qa_em'])} | {noans} | {num(entry['nli_acc'])} | {recall(entry)} "
        f"| {entry['steps'] or '–'} | {wall} | {where} | {curve} |"
    )


def table(entries: list[dict[str, Any]]) -> str:
    head = [
        "| run | layers | method | QA HasAns F1 | QA HasAns EM | NoAns acc (same-article) "
        "| NLI acc | NLI recall e / n / c | steps | wall | machine | curve |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    return "\n".join(head + [row(e) for e in entries])


def best_teacher(entries: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    teachers = [e for e in entries if "teacher" in e["name"] and e.get(key) is not None]
    return max(teachers, key=lambda e: e[key]) if teachers else None


def baseline_of(name: str, by_name: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """Run (1) at the same seed, else at the base seed."""
    _, seed = parse_name(name)
    return by_name.get(run_name(BASELINE, seed)) or by_name.get(BASELINE)


def learned_checks(students: list[dict[str, Any]]) -> list[str]:
    lines = []
    for e in students:
        if parse_name(e["name"])[0].name != BASELINE:
            continue
        ok = all(e[key] is not None and e[key] >= bar for key, bar in LEARNED.items())
        lines.append(
            f"- No-KD student `{e['name']}` has learned (QA HasAns F1 ≥ 50, NLI ≥ 60%): "
            f"{'yes' if ok else 'NO — this is not an ablation yet'} "
            f"({num(e['qa_f1'])}, {num(e['nli_acc'])}%)."
        )
    return lines


def kd_check(e: dict[str, Any], entries: list[dict[str, Any]], base: dict | None) -> str:
    parts = []
    for key, label in TASKS:
        teacher = best_teacher(entries, key)
        if e[key] is None or teacher is None:
            parts.append(f"{label}: –")
            continue
        share = 100 * e[key] / teacher[key]
        text = f"{label} {e[key]:.1f} = {share:.1f}% of `{teacher['name']}` ({teacher[key]:.1f}) "
        text += f"[≥ {TEACHER_SHARE:.0f}%: {'met' if share >= TEACHER_SHARE else 'missed'}]"
        if base is not None and base[key] is not None:
            gain = e[key] - base[key]
            text += (
                f", {gain:+.1f} over `{base['name']}` [≥ +1: {'met' if gain >= GAIN else 'missed'}]"
            )
        parts.append(text)
    return f"- `{e['name']}`: " + "; ".join(parts) + "."


def spread_checks(by_name: dict[str, dict[str, Any]]) -> list[str]:
    lines = []
    for name, entry in by_name.items():
        run, seed = parse_name(name)
        base = by_name.get(run.name)
        if seed == BASE_SEED or base is None:
            continue
        deltas = ", ".join(
            f"{label} {abs(entry[key] - base[key]):.1f}"
            for key, label in TASKS
            if entry[key] is not None and base[key] is not None
        )
        lines.append(f"- Seed spread of `{run.name}` (seeds {BASE_SEED}, {seed}): {deltas} points.")
    return lines


def checks(entries: list[dict[str, Any]]) -> str:
    students = [e for e in entries if "teacher" not in e["name"]]
    by_name = {e["name"]: e for e in students}
    lines = []
    ablation = {run.name for run in RUNS}
    budgets = {
        (e["steps"], e["layers"]) for e in students if parse_name(e["name"])[0].name in ablation
    }
    if len(budgets) > 1:
        lines.append(f"- Budgets differ between runs (steps, layers): {sorted(budgets)}.")
    lines += learned_checks(students)
    lines += [kd_check(e, entries, baseline_of(e["name"], by_name)) for e in students if e["kd"]]
    lines += spread_checks(by_name)
    return "\n".join(lines) or "- No finished runs yet."


def section(entries: list[dict[str, Any]]) -> str:
    if not entries:
        return "No run has finished yet (`python -m bench.ablation --list`).\n"
    return (
        "Rewritten by `python -m bench.ablation` from `bench/results/ablation/summary.json` "
        "(dev files in full; QA HasAns EM/F1, NoAns = share of unanswerable pairs answered "
        '"no answer", same-article ones in brackets; NLI recall per class in %).\n\n'
        f"{table(entries)}\n\nChecks (issue 17), computed from the numbers above:\n\n"
        f"{checks(entries)}\n{speed_section()}"
    )


def speed_section() -> str:
    timed = speed.load()
    if timed is None:
        return ""
    host = timed["machine"]
    return (
        f"\nSpeed (`python -m bench.ablation --speed`, {timed['finished']}, {host['cpu']}, "
        f"{timed['threads']} ONNX Runtime thread, static INT8, each student's first "
        f"{timed['rows']} dev rows):\n\n{speed.table(timed)}\n"
    )


def write_doc(entries: list[dict[str, Any]], doc: Path | None = None) -> None:
    doc = doc or DOC
    text = doc.read_text()
    head, found, rest = text.partition(BEGIN)
    if not found:
        raise ValueError(f"{doc} has no {BEGIN} marker")
    _, _, tail = rest.partition(END)
    doc.write_text(f"{head}{BEGIN}\n{section(entries)}{END}{tail}")
