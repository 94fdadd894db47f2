"""Readers for SQuAD JSON (v1.1/v2.0) and NLI JSON lines, plain or gzip-compressed."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from road.core.tasks import NLI


@dataclass(frozen=True, slots=True)
class QAExample:
    """A question on a context; empty `answers` means unanswerable."""

    id: str
    title: str
    question: str
    context: str
    answers: tuple[str, ...]
    answer_starts: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class NLIExample:
    id: str
    premise: str
    hypothesis: str
    label: str


def open_text(path: str | Path) -> IO[str]:
    """Open a text file, transparently decompressing `.gz`."""
    path = Path(path)
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open("r", encoding="utf-8")


def read_squad(path: str | Path) -> list[QAExample]:
    with open_text(path) as handle:
        document = json.load(handle)
    examples = []
    for article in document["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                answers = [] if qa.get("is_impossible") else qa.get("answers", [])
                examples.append(
                    QAExample(
                        id=str(qa["id"]),
                        title=article.get("title", ""),
                        question=qa["question"],
                        context=paragraph["context"],
                        answers=tuple(a["text"] for a in answers),
                        answer_starts=tuple(int(a["answer_start"]) for a in answers),
                    )
                )
    return examples


def iter_nli(path: str | Path) -> Iterator[NLIExample]:
    with open_text(path) as handle:
        for number, line in enumerate(handle):
            if not line.strip():
                continue
            record = json.loads(line)
            if record["label"] not in NLI.labels:
                raise ValueError(f"{path}:{number + 1}: unknown label {record['label']!r}")
            yield NLIExample(
                id=str(record.get("id", number)),
                premise=record["premise"],
                hypothesis=record["hypothesis"],
                label=record["label"],
            )


def read_nli(path: str | Path) -> list[NLIExample]:
    return list(iter_nli(path))
