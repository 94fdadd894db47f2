"""Readers for SQuAD JSON (span extraction) and labelled JSON lines (classification), plain or
gzip-compressed."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator, Sequence
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
class ClassificationExample:
    """One or two texts (a task's `fields`, in order) and their gold label."""

    id: str
    texts: tuple[str, ...]
    label: str


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


def iter_classification(
    path: str | Path, fields: Sequence[str], labels: Sequence[str]
) -> Iterator[ClassificationExample]:
    """JSON lines with the task's `fields`, a `label` among `labels` and an optional `id`."""
    with open_text(path) as handle:
        for number, line in enumerate(handle):
            if not line.strip():
                continue
            record = json.loads(line)
            if record["label"] not in labels:
                raise ValueError(f"{path}:{number + 1}: unknown label {record['label']!r}")
            yield ClassificationExample(
                id=str(record.get("id", number)),
                texts=tuple(str(record[name]) for name in fields),
                label=record["label"],
            )


def read_classification(
    path: str | Path, fields: Sequence[str], labels: Sequence[str]
) -> list[ClassificationExample]:
    return list(iter_classification(path, fields, labels))


def iter_nli(path: str | Path) -> Iterator[NLIExample]:
    for ex in iter_classification(path, NLI.fields, NLI.labels):
        yield NLIExample(id=ex.id, premise=ex.texts[0], hypothesis=ex.texts[1], label=ex.label)


def read_nli(path: str | Path) -> list[NLIExample]:
    return list(iter_nli(path))
