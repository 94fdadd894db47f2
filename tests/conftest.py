"""Shared fixtures: tiny random ELECTRA students and small handmade QA/NLI data files."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

PARAGRAPHS = [
    (
        "geo/Lyon",
        "Lyon is the third-largest city of France. It is located at the confluence of the "
        "rivers Rhône and Saône. The city was founded by the Romans in 43 BC.",
        [("Which rivers meet at Lyon?", "Rhône and Saône"), ("Who founded Lyon?", "the Romans")],
    ),
    (
        "sci/Water",
        "Water boils at 100 degrees Celsius at sea level. At higher altitudes the boiling "
        "point is lower because the air pressure is lower.",
        [("At what temperature does water boil?", "100 degrees Celsius")],
    ),
    (
        "hist/Printing",
        "Johannes Gutenberg introduced printing to Europe around 1440. His press used "
        "movable metal type and oil-based ink.",
        [
            ("Who introduced printing to Europe?", "Johannes Gutenberg"),
            ("What ink did the press use?", "oil-based ink"),
        ],
    ),
]

NLI_PAIRS = [
    ("A man is playing a guitar on stage.", "A man is performing music.", "entailment"),
    ("A man is playing a guitar on stage.", "The stage is empty.", "contradiction"),
    ("A woman reads a book in the park.", "The woman is a teacher.", "neutral"),
    ("Two dogs run across a snowy field.", "Animals are outside.", "entailment"),
    ("Two dogs run across a snowy field.", "The dogs are sleeping indoors.", "contradiction"),
    ("A child eats an apple.", "The child is hungry.", "neutral"),
]


def squad_document() -> dict:
    data = []
    for title, context, qas in PARAGRAPHS:
        entries = []
        for k, (question, answer) in enumerate(qas):
            start = context.index(answer)
            entries.append(
                {
                    "id": f"{title}-{k}",
                    "question": question,
                    "answers": [{"text": answer, "answer_start": start}],
                }
            )
        data.append({"title": title, "paragraphs": [{"context": context, "qas": entries}]})
    return {"version": "1.1", "data": data}


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """SQuAD (gzip) and NLI (plain JSON lines) files with a handful of real-looking examples."""
    root = tmp_path_factory.mktemp("data")
    squad = root / "squad.json.gz"
    with gzip.open(squad, "wt", encoding="utf-8") as handle:
        json.dump(squad_document(), handle)
    nli = root / "nli.jsonl"
    nli.write_text(
        "".join(
            json.dumps({"id": f"n{i}", "premise": p, "hypothesis": h, "label": y}) + "\n"
            for i, (p, h, y) in enumerate(NLI_PAIRS)
        )
    )
    return {"squad": squad, "nli": nli}


@pytest.fixture(scope="session")
def tiny_init(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random ELECTRA discriminator directory with the MiniLM (BERT uncased) tokenizer."""
    from transformers import AutoTokenizer, ElectraConfig

    from road.training.init import minilm_dir
    from road.training.model import RoadStudent

    root = tmp_path_factory.mktemp("tiny-electra")
    config = ElectraConfig(
        vocab_size=30522,
        embedding_size=32,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    import torch

    with torch.random.fork_rng():
        torch.manual_seed(0)  # the same tiny student every session
        RoadStudent(config).save_pretrained(root)
    AutoTokenizer.from_pretrained(str(minilm_dir())).save_pretrained(root)
    return root


def tiny_train_overrides(
    data: dict[str, Path], init: Path, output_dir: Path, steps: int = 6
) -> list[str]:
    """CLI-style overrides for a fast, complete `road train` run on the tiny fixtures."""
    return [
        f"output_dir={output_dir}",
        f"init={init}",
        f"steps={steps}",
        "save_every=3",
        "log_every=1",
        "lr=1.0e-3",
        "threads=1",
        f"qa.train={data['squad']}",
        f"qa.dev={data['squad']}",
        "qa.max_seq_len=48",
        "qa.doc_stride=16",
        "qa.max_question_tokens=16",
        "qa.batch_size=4",
        f"nli.train={data['nli']}",
        f"nli.dev={data['nli']}",
        "nli.max_seq_len=48",
        "nli.batch_size=4",
    ]


@pytest.fixture(scope="session")
def tiny_checkpoint(
    tiny_data: dict[str, Path], tiny_init: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A trained tiny student: the `final/` checkpoint directory of a short `road train` run."""
    from road.training.config import load_config
    from road.training.loop import FINAL, train

    out = tmp_path_factory.mktemp("tiny-run")
    train(load_config(None, tiny_train_overrides(tiny_data, tiny_init, out)))
    return out / FINAL


@pytest.fixture(scope="session")
def train_overrides() -> Callable[..., list[str]]:
    """`tiny_train_overrides` as a fixture: test modules cannot reliably import conftest."""
    return tiny_train_overrides
