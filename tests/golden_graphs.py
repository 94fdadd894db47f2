"""Bundles for the golden-row tests: a copy with golden rows, and a graph perturbed after export."""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from road.core.bundle import load_manifest, write_manifest
from road.runtime.golden import GOLDEN_FILE
from road.runtime.golden_build import add_golden
from road.runtime.session import SessionOptions
from road.runtime.settings import default_bundle


def bundle_copy(bundle: Path, dest: Path) -> Path:
    return Path(shutil.copytree(bundle, dest))


def drifting_bundle(dest: Path, dev: Mapping[str, Path]) -> Path:
    """The shipped bundle with golden rows from `dev`, then its graph perturbed and re-hashed."""
    bundle = bundle_copy(default_bundle(), dest)
    if (bundle / GOLDEN_FILE).exists():
        (bundle / GOLDEN_FILE).unlink()
        write_manifest(bundle, load_manifest(bundle, verify=False))
    add_golden(bundle, dev, SessionOptions(intra_op_threads=1))
    perturb_graph(bundle)
    return bundle


def _layer_index(name: str) -> int:
    match = re.search(r"layer\.(\d+)\.", name)
    return int(match.group(1)) if match else -1


def perturb_graph(bundle: Path, factor: float = 2.0) -> str:
    """Scale the graph's last float LayerNorm weight by `factor`; re-hash so integrity passes.

    Returns the initializer's name. The manifest then matches the new graph: only the golden
    rows can tell that its outputs moved.
    """
    graph_file = bundle / load_manifest(bundle, verify=False).graph
    model = onnx.load(str(graph_file))
    floats = [t for t in model.graph.initializer if t.data_type == onnx.TensorProto.FLOAT]
    norms = [t for t in floats if "LayerNorm.weight" in t.name or "layernorm.weight" in t.name]
    # The encoder's last LayerNorm (the one nearest the heads), whatever the initializer order:
    # in a static INT8 graph an earlier one's change is amplified by every later requantisation.
    norms.sort(key=lambda t: (_layer_index(t.name), "attention" not in t.name))
    target = (norms or floats)[-1]
    scaled = numpy_helper.to_array(target).astype(np.float32) * np.float32(factor)
    target.CopyFrom(numpy_helper.from_array(scaled, target.name))
    onnx.save(model, str(graph_file))
    write_manifest(bundle, load_manifest(bundle, verify=False))
    return target.name


def rewrite_json(bundle: Path, name: str, edit: Mapping[str, object]) -> None:
    """Replace top-level keys of a JSON file in the bundle; re-hash the manifest."""
    import json

    path = bundle / name
    data = json.loads(path.read_text())
    data.update(edit)
    path.write_text(json.dumps(data))
    write_manifest(bundle, load_manifest(bundle, verify=False))
