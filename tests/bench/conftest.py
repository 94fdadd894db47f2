"""A shared/data-shaped directory built from the handmade QA and NLI files of tests/conftest.py."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from bench.workload import NLI_FILE, QA_FILE


@pytest.fixture(scope="session")
def data_dir(tiny_data: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shared-data")
    (root / QA_FILE).parent.mkdir(parents=True)
    (root / NLI_FILE).parent.mkdir(parents=True)
    shutil.copy(tiny_data["squad"], root / QA_FILE)
    with gzip.open(root / NLI_FILE, "wt", encoding="utf-8") as handle:
        handle.write(tiny_data["nli"].read_text())
    return root
