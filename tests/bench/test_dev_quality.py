"""bench/dev_quality.py against a fake server with known answers (the fake lives here, in tests)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, HTTPException

from bench import host
from bench.dev_quality import score_nli, score_qa

CONTEXT = "Lyon lies where the Rhone and the Saone meet. It is in France."


def fake_app() -> FastAPI:
    """Right on questions that say "right", a wrong span otherwise; /nli: always entailment."""
    app = FastAPI()

    @app.post("/qa")
    def qa(body: dict[str, Any]) -> dict[str, Any]:
        if "fail" in body["question"]:
            raise HTTPException(500)
        if "right" in body["question"]:  # the span when the question's own city is in context
            for city, span in (("Lyon", "the Rhone and the Saone"), ("Paris", "Paris")):
                if city in body["question"]:
                    return {"answer": span if city in body["context"] else ""}
        return {"answer": "France"}

    @app.post("/nli")
    def nli(body: dict[str, Any]) -> dict[str, Any]:
        if body["premise"] == "fail":
            raise HTTPException(503)
        return {"label": None if body["premise"] == "abstain" else "entailment", "scores": {}}

    return app


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    port = host.free_port()
    server = uvicorn.Server(uvicorn.Config(fake_app(), port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "fake server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def squad_file(path: Path, lyon: Sequence[str], paris: Sequence[str] = ()) -> Path:
    def qas(questions: Sequence[str], answer: str, start: int, prefix: str) -> list[dict[str, Any]]:
        return [{"id": f"{prefix}{i}", "question": q,
                 "answers": [{"text": answer, "answer_start": start}]}
                for i, q in enumerate(questions)]  # fmt: skip

    data = {"data": [
        {"title": "Lyon", "paragraphs": [{"context": CONTEXT,
                                          "qas": qas(lyon, "the Rhone and the Saone", 17, "l")}]},
        {"title": "Paris", "paragraphs": [{"context": "Paris is the capital of France.",
                                           "qas": qas(paris, "Paris", 0, "p")}]},
    ]}  # fmt: skip
    path.write_text(json.dumps(data))
    return path


def test_qa_scores_what_the_server_answers(url: str, tmp_path: Path) -> None:
    dev = squad_file(tmp_path / "dev.json", ["right Lyon?", "right Lyon 2?", "wrong?", "fail?"])
    result = score_qa(url, dev, cross=0.0, same=0.0, concurrency=2, limit=None)
    assert result["HasAns_total"] == 4
    assert result["HasAns_exact"] == pytest.approx(50.0)  # two right, one wrong, one failed
    assert result["failed"] == 1 and result["requests"] == 4


def test_qa_negatives_follow_the_dev_shares(url: str, tmp_path: Path) -> None:
    lyon, paris = [f"right Lyon {i}?" for i in range(5)], [f"right Paris {i}?" for i in range(5)]
    dev = squad_file(tmp_path / "dev.json", lyon, paris)
    result = score_qa(url, dev, cross=0.5, same=0.0, concurrency=4, limit=None)
    assert result["NoAns_total"] == 5  # half the questions paired with the other article
    # The fake answers "" off its own article: every cross-article negative is right.
    assert result["NoAns_cross_article_acc"] == 100.0 and result["HasAns_exact"] == 100.0


def test_nli_counts_failures_and_abstentions_as_wrong(url: str, tmp_path: Path) -> None:
    rows = [("a", "entailment"), ("b", "entailment"), ("c", "neutral"), ("fail", "entailment"),
            ("abstain", "contradiction")]  # fmt: skip
    dev = tmp_path / "nli.jsonl"
    dev.write_text("".join(json.dumps({"premise": p, "hypothesis": "h", "label": label}) + "\n"
                           for p, label in rows))  # fmt: skip
    result = score_nli(url, dev, concurrency=3, limit=None)
    assert result["accuracy"] == pytest.approx(40.0)
    assert result["per_class_recall"]["entailment"] == pytest.approx(200 / 3)
    assert result["failed"] == 1 and result["unlabelled"] == 2
    assert result["confusion"]["contradiction"]["contradiction"] == 0
