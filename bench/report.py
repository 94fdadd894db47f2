"""Markdown tables and plots for docs/performance.md from a bench.compare results directory.

python -m bench.report bench/results
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from bench.plots import latency_vs_throughput


def load_result(out: Path, name: str) -> dict[str, Any] | None:
    """A result `bench.compare` saved in `out` (`name`.json), or None if that step did not run."""
    path = out / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _ms(point: dict[str, Any], pct: str) -> str:
    return f"{point['latency_ms'][pct]:.1f}"


def per_cpu_s(point: dict[str, Any]) -> float:
    """Requests per CPU-second of the server: what a request cost, whatever else ran."""
    cores = point.get("cpu_cores_used", {}).get("server")
    return point["throughput_rps"] / cores if cores else float("nan")


def _batches(point: dict[str, Any]) -> tuple[str, str]:
    batches = point.get("server_batches") or {}
    rows = batches.get("road_batch_rows", {}).get("mean")
    efficiency = batches.get("padding_efficiency")
    return (
        f"{rows:.1f}" if rows is not None else "–",
        f"{efficiency:.0%}" if efficiency is not None else "–",
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def sweep_table(points: Sequence[dict[str, Any]]) -> str:
    rows = []
    for p in points:
        mean_rows, efficiency = _batches(p)
        cpu = p.get("cpu_cores_used", {})
        rows.append(
            [
                f"{p['mode']} {p['level']:g}",
                f"{p['throughput_rps']:.1f}",
                f"{per_cpu_s(p):.1f}",
                _ms(p, "p50"),
                _ms(p, "p95"),
                _ms(p, "p99"),
                str(sum(p["errors"].values())),
                mean_rows,
                efficiency,
                f"{cpu.get('server', float('nan')):.2f} / {cpu.get('client', float('nan')):.2f}",
            ]
        )
    headers = [
        "load", "req/s", "req/CPU-s", "p50 ms", "p95 ms", "p99 ms", "errors",
        "rows/batch", "padding eff.", "CPU server/client",
    ]  # fmt: skip
    return table(headers, rows)


def ideal_table(configs: Sequence[dict[str, Any]]) -> str:
    rows = [
        [
            f"{c['max_batch_size']} rows × {c['max_batch_tokens']} tokens",
            str(c["batches"]),
            f"{c['padding_efficiency']:.0%}",
            f"{c['throughput_rps']:.1f}",
            f"{c['requests_per_cpu_s']:.1f}",
        ]
        for c in configs
    ]
    return table(["batch limits", "batches", "padding eff.", "req/s", "req/CPU-s"], rows)


def floor_table(floor: dict[str, Any]) -> str:
    """p50/p95/p99 of each request's solo compute time, overall and per task."""
    parts = {"all": floor["latency_ms"], **floor["by_task"]}
    rows = [
        [name, *(f"{lat[p]:.1f}" for p in ("p50", "p95", "p99")), f"{_tail(lat):.1f}"]
        for name, lat in parts.items()
    ]
    return table(["requests", "p50", "p95", "p99", "p99 ÷ p50"], rows)


def precision_table(out: Path) -> str:
    """(d): road's INT8 bundle and each variant: speed, memory and dev quality side by side."""
    road = load_result(out, "road")
    if road is None:
        return ""
    entries = [{"label": road["label"], **road}, *_variants(out)]
    rows = []
    for e in entries:
        low = next(p for p in e["points"] if p["level"] == 1)
        top = _top(e["points"])
        quality = _quality(Path(e["bundle"]))
        rows.append(
            [
                e["label"],
                f"{low['latency_ms']['p50']:.1f}",
                f"{top['throughput_rps']:.1f}",
                f"{per_cpu_s(top):.1f}",
                f"{e['memory']['rss_mib']:.0f}",
                quality,
            ]
        )
    headers = [
        "bundle",
        "p50 ms at c=1",
        "top req/s",
        "req/CPU-s",
        "RSS MiB",
        "dev QA F1 / NLI acc",
    ]
    return table(headers, rows)


def _quality(bundle: Path) -> str:
    manifest = bundle / "manifest.json"
    if not manifest.exists():
        return "–"
    onnx = json.loads(manifest.read_text()).get("quality", {}).get("onnx", {})
    try:
        return f"{onnx['qa']['f1']:.2f} / {onnx['nli']['accuracy']:.2f}"
    except KeyError:
        return "–"


def histogram_table(points: dict[str, dict[str, Any]], metric: str) -> str:
    """One column per named point: how many batches fell in each bucket of `metric`."""
    columns = {
        name: p.get("server_batches", {}).get(metric, {}).get("histogram", {})
        for name, p in points.items()
    }
    buckets = next((list(c) for c in columns.values() if c), [])
    rows = [[b] + [f"{c.get(b, 0):g}" for c in columns.values()] for b in buckets]
    return table([metric, *columns], rows)


def _both(name: str, a: dict[str, Any], b: dict[str, Any]) -> dict[str, float]:
    """a/b in throughput, and in requests per server CPU-second (robust to other load)."""
    return {
        f"{name}_throughput": a["throughput_rps"] / b["throughput_rps"],
        f"{name}_per_cpu_s": per_cpu_s(a) / per_cpu_s(b),
    }


def _top(points: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return max(points, key=lambda p: p["throughput_rps"])


def _variants(out: Path) -> list[dict[str, Any]]:
    precision = load_result(out, "precision")
    return precision["variants"] if precision else []


def _series(out: Path) -> dict[str, list[dict[str, Any]]]:
    """Every measured server's closed-loop points, by label: road, (d)'s variants, naive."""
    found = {}
    for name in ("road", "naive"):
        result = load_result(out, name)
        if result is not None:
            found[result.get("label", name)] = result["points"]
    for variant in _variants(out):
        found[f"road {variant['label']}"] = variant["points"]
    return found


def ratios(out: Path) -> dict[str, float]:
    """The headline ratios of (a)–(e), from whichever results exist."""
    road, naive, graphs = (load_result(out, name) for name in ("road", "naive", "graphs"))
    if road is None:
        return {}
    top = road["saturation"]
    found: dict[str, float] = {}
    if "ideal" in road:
        for name in ("server_limits", "best"):
            ideal = road["ideal"][name]
            found[f"a_road_over_ideal_{name}_throughput"] = (
                top["throughput_rps"] / ideal["throughput_rps"]
            )
            found[f"a_road_over_ideal_{name}_per_cpu_s"] = (
                per_cpu_s(top) / ideal["requests_per_cpu_s"]
            )
    paired = load_result(out, "paired")
    if paired is not None:
        found["a_paired_median_road_over_raw"] = float(
            np.median([_pair_ratio(pair) for pair in paired["rounds"]])
        )
    if naive is not None:
        found |= _both("b_road_over_naive", top, _top(naive["points"]))
        low = next(p for p in road["points"] if p["level"] == 1)
        naive_low = next(p for p in naive["points"] if p["level"] == 1)
        found["b_p50_c1_naive_over_road"] = (
            naive_low["latency_ms"]["p50"] / low["latency_ms"]["p50"]
        )
    if graphs is not None:
        shared, split = graphs["shared"], graphs["split"]
        found |= _both("c_shared_over_split", shared["point"], split["point"])
        found["c_rss_split_over_shared"] = split["memory"]["rss_mib"] / shared["memory"]["rss_mib"]
    for variant in _variants(out):
        found |= _both(f"d_road_int8_over_{variant['label']}", top, _top(variant["points"]))
    overhead = load_result(out, "overhead")
    if overhead is not None:
        # CPU ms per request with the model removed, and its share of a real request's CPU.
        found["a_overhead_ms_per_request"] = 1000 / per_cpu_s(overhead["point"])
        found["a_overhead_share_of_road"] = per_cpu_s(top) / per_cpu_s(overhead["point"])
        at_rate = overhead.get("at_road_rate")
        if at_rate is not None:
            found["a_overhead_core_share_at_road_rate"] = at_rate["cpu_cores_used"]["server"]
    if "floor" in road:
        found["e_floor_solo_p99_over_p50"] = _tail(road["floor"]["latency_ms"])
        for task, latency in road["floor"]["by_task"].items():
            found[f"e_floor_solo_p99_over_p50_{task}"] = _tail(latency)
    for key, suffix in (("open_70", ""), ("open_70_fixed", "_fixed_arrivals")):
        if key not in road:
            continue
        found[f"e_p99_over_p50_at_70pct{suffix}"] = _tail(road[key]["latency_ms"])
        for task, part in road[key].get("by_task", {}).items():
            found[f"e_p99_over_p50_at_70pct{suffix}_{task}"] = _tail(part["latency_ms"])
    return found


def _pair_ratio(pair: dict[str, Any]) -> float:
    return float(pair["road"]["throughput_rps"] / pair["raw"]["throughput_rps"])


def paired_table(paired: dict[str, Any]) -> str:
    """One row per round: road's throughput, then the raw session's on the same requests."""
    rows = [
        [
            str(i),
            str(pair["road"]["requests"]),
            f"{pair['road']['throughput_rps']:.1f}",
            f"{pair['raw']['throughput_rps']:.1f}",
            f"{_pair_ratio(pair):.2f}",
        ]
        for i, pair in enumerate(paired["rounds"], 1)
    ]
    headers = ["round", "requests", "road req/s", "raw session req/s", "road ÷ raw"]
    return table(headers, rows)


def _tail(latency: dict[str, float]) -> float:
    return latency["p99"] / latency["p50"]


def plots(out: Path) -> None:
    """latency-throughput.png: road INT8 sweep, (d)'s variants and the naive server."""
    series = _series(out)
    if series:
        latency_vs_throughput(series, out / "latency-throughput.png", "mixed QA+NLI, closed loop")


def main(out: Annotated[Path, typer.Argument(help="bench.compare results directory")]) -> None:
    """Print the tables and ratios; redraw the plot."""
    for label, points in _series(out).items():
        typer.echo(f"\n### {label}\n\n{sweep_table(points)}")
    road = load_result(out, "road")
    if road is not None:
        deepest = max(road["points"], key=lambda p: p["level"])
        named = {"mixed": deepest, **road["by_mix"], "open 70%": road["open_70"]}
        if "open_70_fixed" in road:
            named["open 70%, fixed arrivals"] = road["open_70_fixed"]
        rows = [p | {"mode": f"{name}, {p['mode']}"} for name, p in named.items()]
        typer.echo(f"\n### road by mix and open loop\n\n{sweep_table(rows)}")
        for metric in ("road_batch_rows", "road_batch_padding_ratio"):
            typer.echo("\n" + histogram_table(named, metric))
    graphs = load_result(out, "graphs")
    if graphs is not None:
        points = [graphs[m]["point"] | {"mode": m} for m in ("shared", "split")]
        typer.echo(f"\n### (c) shared vs split\n\n{sweep_table(points)}")
        for mode in ("shared", "split"):
            typer.echo(
                f"{mode}: idle {graphs[mode]['idle_memory']}, after {graphs[mode]['memory']}"
            )
    if _variants(out):
        typer.echo(f"\n### (d) bundles\n\n{precision_table(out)}")
    knobs = load_result(out, "knobs")
    if knobs is not None:
        points = [
            v["point"] | {"mode": " ".join(f"{k}={x}" for k, x in v["knobs"].items()) or "defaults"}
            for v in knobs["variants"]
        ]
        typer.echo(f"\n### batching knobs\n\n{sweep_table(points)}")
    if road is not None and "ideal" in road:
        typer.echo(f"\n### (a) raw session\n\n{ideal_table(road['ideal']['all'])}")
    paired = load_result(out, "paired")
    if paired is not None:
        typer.echo(f"\n### (a) paired rounds, c={paired['level']}\n\n{paired_table(paired)}")
    overhead = load_result(out, "overhead")
    if overhead is not None:
        points = [overhead["point"] | {"mode": "model removed (bench.null_model)"}]
        if overhead.get("at_road_rate"):
            points.append(overhead["at_road_rate"] | {"mode": "model removed, at road's rate"})
        typer.echo(f"\n### (a) road's own cost\n\n{sweep_table(points)}")
    if road is not None and "floor" in road:
        typer.echo(f"\n### (e) floor: solo compute time, ms\n\n{floor_table(road['floor'])}")
    versus, dev = load_result(out, "versus_teachers"), load_result(out, "versus_teachers_dev")
    if versus is not None and dev is not None:
        from bench.versus_teachers import table as versus_table

        text = versus_table(versus, dev)
        typer.echo(f"\n### (f) road against pipelines on the teachers\n\n{text}")
    typer.echo("\n" + json.dumps(ratios(out), indent=2))
    plots(out)


if __name__ == "__main__":
    typer.run(main)
