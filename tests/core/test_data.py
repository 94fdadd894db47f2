"""SQuAD and NLI readers, plain and gzip-compressed."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from road.core.data import QAExample, read_nli, read_squad

SQUAD_V2 = {
    "version": "v2.0",
    "data": [
        {
            "title": "Lyon",
            "paragraphs": [
                {
                    "context": "Lyon lies at the confluence of the Rhône and Saône.",
                    "qas": [
                        {
                            "id": "q1",
                            "question": "Which rivers meet at Lyon?",
                            "answers": [
                                {"text": "Rhône and Saône", "answer_start": 35},
                                {"text": "the Rhône and Saône", "answer_start": 31},
                            ],
                            "is_impossible": False,
                        },
                        {
                            "id": "q2",
                            "question": "Which sea meets at Lyon?",
                            "answers": [],
                            "plausible_answers": [{"text": "Rhône", "answer_start": 35}],
                            "is_impossible": True,
                        },
                        {
                            # Inconsistent but seen in the wild: is_impossible wins.
                            "id": 3,
                            "question": "Which ocean?",
                            "answers": [{"text": "Saône", "answer_start": 45}],
                            "is_impossible": True,
                        },
                    ],
                }
            ],
        },
        {
            "paragraphs": [
                {"context": "Untitled.", "qas": [{"id": "q4", "question": "What?", "answers": []}]}
            ]
        },
    ],
}

EXPECTED = [
    QAExample(
        "q1",
        "Lyon",
        "Which rivers meet at Lyon?",
        "Lyon lies at the confluence of the Rhône and Saône.",
        ("Rhône and Saône", "the Rhône and Saône"),
        (35, 31),
    ),
    QAExample(
        "q2",
        "Lyon",
        "Which sea meets at Lyon?",
        "Lyon lies at the confluence of the Rhône and Saône.",
        (),
        (),
    ),
    QAExample(
        "3", "Lyon", "Which ocean?", "Lyon lies at the confluence of the Rhône and Saône.", (), ()
    ),
    QAExample("q4", "", "What?", "Untitled.", (), ()),
]


@pytest.mark.parametrize("compressed", [False, True])
def test_read_squad_v2(tmp_path: Path, compressed: bool) -> None:
    text = json.dumps(SQUAD_V2, ensure_ascii=False)
    if compressed:
        path = tmp_path / "squad.json.gz"
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path = tmp_path / "squad.json"
        path.write_text(text, encoding="utf-8")
    examples = read_squad(path)
    assert examples == EXPECTED
    first = examples[0]
    for answer, start in zip(first.answers, first.answer_starts, strict=True):
        assert first.context[start : start + len(answer)] == answer


def test_read_squad_fixture_file(tiny_data: dict[str, Path]) -> None:
    examples = read_squad(tiny_data["squad"])
    assert len(examples) == 5
    assert [e.id for e in examples[:2]] == ["geo/Lyon-0", "geo/Lyon-1"]
    assert examples[0].answers == ("Rhône and Saône",)
    for ex in examples:
        assert ex.context[ex.answer_starts[0] :].startswith(ex.answers[0])


def nli_lines(*records: dict | str) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)


@pytest.mark.parametrize("compressed", [False, True])
def test_read_nli(tmp_path: Path, compressed: bool) -> None:
    text = nli_lines(
        {"id": "a", "premise": "A man plays.", "hypothesis": "Music.", "label": "entailment"},
        "",
        {"premise": "A dog sleeps.", "hypothesis": "The dog runs.", "label": "contradiction"},
    )
    path = tmp_path / ("nli.jsonl.gz" if compressed else "nli.jsonl")
    if compressed:
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    examples = read_nli(path)
    assert [(e.id, e.premise, e.hypothesis, e.label) for e in examples] == [
        ("a", "A man plays.", "Music.", "entailment"),
        ("2", "A dog sleeps.", "The dog runs.", "contradiction"),  # id defaults to the line index
    ]


def test_read_nli_unknown_label_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "nli.jsonl"
    path.write_text(
        nli_lines(
            {"premise": "p", "hypothesis": "h", "label": "neutral"},
            "",
            {"premise": "p", "hypothesis": "h", "label": "not_entailment"},
        )
    )
    with pytest.raises(ValueError, match=r"nli\.jsonl:3: unknown label 'not_entailment'"):
        read_nli(path)
