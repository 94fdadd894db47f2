"""`road inspect`: what a bundle is, whether it verifies, and how this machine would serve it.

Needs only the serving install (no torch): the manifest, file sizes, metrics and providers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import onnxruntime as ort

from road.core.bundle import MANIFEST, load_manifest
from road.core.errors import BundleError
from road.core.tasks import gated_metrics
from road.runtime.providers import engine_cache_dir, select_providers


def bundle_report(bundle_dir: Path) -> dict[str, Any]:
    """The manifest (verified), file sizes, gated metrics and the provider choice here."""
    manifest = load_manifest(bundle_dir, verify=True)
    files = {name: (bundle_dir / name).stat().st_size for name in sorted(manifest.files)}
    files[MANIFEST] = (bundle_dir / MANIFEST).stat().st_size
    quality = manifest.quality
    metrics = {
        f"{task}.{name}": {
            "pytorch": quality.get("pytorch", {}).get(task, {}).get(name),
            "bundle": quality.get("onnx", {}).get(task, {}).get(name),
        }
        for task, name in gated_metrics(manifest.tasks.specs())
    }
    available = ort.get_available_providers()
    try:
        cache = engine_cache_dir(bundle_dir, manifest) if manifest.tensorrt else None
        choice = select_providers(manifest, available, cache)
        selected: dict[str, Any] = {"provider": choice.provider, "reason": choice.reason}
    except BundleError as exc:
        selected = {"provider": None, "reason": f"refused: {exc}"}
    return {
        "bundle": str(bundle_dir),
        "verified": True,
        "files": files,
        "metrics": metrics,
        "metric_drops": quality.get("metric_drops", {}),
        "providers": {"available": available, **selected},
        "manifest": json.loads(manifest.model_dump_json()),
    }


def format_report(report: dict[str, Any]) -> str:
    """A human-readable summary, with the full manifest at the end."""
    manifest = report["manifest"]
    lines = [
        f"bundle     {report['bundle']} (sha256 verified)",
        f"graph      {manifest['graph']}  target={manifest['target']}  "
        f"precision={manifest['precision']}  quantization={manifest['quantization']}",
        f"fusions    {manifest['fusions'] or 'none'}",
        "files",
        *(f"  {size:>12,d}  {name}" for name, size in report["files"].items()),
        "metrics    (dev, points; pytorch -> bundle)",
    ]
    for name, values in report["metrics"].items():
        if values["pytorch"] is not None or values["bundle"] is not None:
            before, after = _points(values["pytorch"]), _points(values["bundle"])
            lines.append(f"  {name:<14} {before} -> {after}")
    providers = report["providers"]
    lines += [
        f"available  {', '.join(providers['available'])}",
        f"selected   {providers['provider'] or '-'}: {providers['reason']}",
        "manifest",
        json.dumps(manifest, indent=2),
    ]
    return "\n".join(lines)


def _points(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
