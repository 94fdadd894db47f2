"""The bundle manifest: written with every file's sha256, refused when anything differs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from road.core.bundle import (
    FORMAT_VERSION,
    MANIFEST,
    Manifest,
    NLITaskInfo,
    QATaskInfo,
    Tasks,
    load_manifest,
    write_manifest,
)
from road.core.errors import BundleError
from road.core.tasks import GRAPH_OUTPUTS


def make_manifest() -> Manifest:
    return Manifest(
        outputs=GRAPH_OUTPUTS,
        tasks=Tasks(
            qa=QATaskInfo(
                max_seq_len=256, doc_stride=128, max_question_tokens=64, null_threshold=-1.5
            ),
            nli=NLITaskInfo(max_seq_len=128),
        ),
        provenance={"checkpoint": "runs/student/final", "git": "abc123"},
        quality={"qa_f1": 71.5},
    )


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    (tmp_path / "model.onnx").write_bytes(b"not really onnx")
    (tmp_path / "tokenizer.json").write_text('{"version": "1.0"}')
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "notes.txt").write_text("hello")
    write_manifest(tmp_path, make_manifest())
    return tmp_path


def test_round_trip(bundle: Path) -> None:
    loaded = load_manifest(bundle)
    assert loaded.files == {
        "extra/notes.txt": hashlib.sha256(b"hello").hexdigest(),
        "model.onnx": hashlib.sha256(b"not really onnx").hexdigest(),
        "tokenizer.json": hashlib.sha256(b'{"version": "1.0"}').hexdigest(),
    }
    assert MANIFEST not in loaded.files
    assert loaded == make_manifest().model_copy(update={"files": loaded.files})
    assert loaded.format_version == FORMAT_VERSION
    assert loaded.tasks.qa is not None and loaded.tasks.qa.null_threshold == -1.5
    assert loaded.tasks.nli is not None and loaded.tasks.nli.labels == (
        "entailment",
        "neutral",
        "contradiction",
    )
    assert loaded.inputs == ("input_ids", "attention_mask", "token_type_ids")


def test_write_manifest_returns_what_it_wrote(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_bytes(b"x")
    written = write_manifest(tmp_path, make_manifest())
    assert written == load_manifest(tmp_path)
    assert list(written.files) == ["model.onnx"]


def test_write_manifest_requires_the_graph(tmp_path: Path) -> None:
    (tmp_path / "tokenizer.json").write_text("{}")
    with pytest.raises(BundleError, match="model.onnx"):
        write_manifest(tmp_path, make_manifest())


def test_tampered_file_is_refused_naming_it(bundle: Path) -> None:
    (bundle / "tokenizer.json").write_text('{"version": "2.0"}')
    with pytest.raises(BundleError, match=r"tokenizer\.json.*sha256"):
        load_manifest(bundle)
    # Without verification the manifest itself still loads.
    assert load_manifest(bundle, verify=False).graph == "model.onnx"


def test_tampered_file_in_a_subfolder_is_refused(bundle: Path) -> None:
    (bundle / "extra" / "notes.txt").write_text("hellO")
    with pytest.raises(BundleError, match=r"extra/notes\.txt"):
        load_manifest(bundle)


def test_missing_file_is_refused_naming_it(bundle: Path) -> None:
    (bundle / "model.onnx").unlink()
    with pytest.raises(BundleError, match=r"model\.onnx.*missing"):
        load_manifest(bundle)


def test_graph_without_hash_is_refused(bundle: Path) -> None:
    data = json.loads((bundle / MANIFEST).read_text())
    del data["files"]["model.onnx"]
    (bundle / MANIFEST).write_text(json.dumps(data))
    with pytest.raises(BundleError, match=r"no hash for model\.onnx"):
        load_manifest(bundle)


def test_wrong_format_version_is_refused(bundle: Path) -> None:
    data = json.loads((bundle / MANIFEST).read_text())
    data["format_version"] = FORMAT_VERSION + 1
    (bundle / MANIFEST).write_text(json.dumps(data))
    with pytest.raises(BundleError, match=f"format_version {FORMAT_VERSION + 1} is not supported"):
        load_manifest(bundle)


def test_malformed_manifest_is_refused(bundle: Path) -> None:
    data = json.loads((bundle / MANIFEST).read_text())
    data["surprise"] = True
    (bundle / MANIFEST).write_text(json.dumps(data))
    with pytest.raises(BundleError, match="invalid manifest"):
        load_manifest(bundle)
    (bundle / MANIFEST).write_text("{not json")
    with pytest.raises(BundleError, match="invalid manifest"):
        load_manifest(bundle)


def test_directory_without_manifest_is_not_a_bundle(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_bytes(b"x")
    with pytest.raises(BundleError, match="not a road bundle"):
        load_manifest(tmp_path)
