"""The server a user would write without road, for comparison (b) in docs/performance.md.

The same student weights behind FastAPI, through transformers' `pipeline("question-answering")`
and `pipeline("text-classification")` in PyTorch, one request at a time. It speaks road's /qa and
/nli request format so the same load generator drives both.

It needs transformers 4.x (5.x removed the question-answering pipeline), so it runs in its own
virtual environment (bench/naive-requirements.txt) and imports nothing from road:

    python -m venv /tmp/road-naive-venv
    /tmp/road-naive-venv/bin/pip install -r bench/naive-requirements.txt
    /tmp/road-naive-venv/bin/python -m bench.naive_server runs/student/final --port 8001
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from fastapi import FastAPI
from pydantic import BaseModel

# RoadStudent's default NLI labels (road.core.tasks.NLI), for checkpoints that do not list theirs.
NLI_LABELS = ("entailment", "neutral", "contradiction")


class QARequest(BaseModel):
    question: str
    context: str
    max_answer_len: int | None = None
    allow_no_answer: bool = True


class NLIRequest(BaseModel):
    premise: str
    hypothesis: str


def convert(checkpoint: Path) -> tuple[Any, Any]:
    """A RoadStudent checkpoint as ElectraForQuestionAnswering + ElectraForSequenceClassification.

    RoadStudent (training/model.py) is `electra` + `qa_outputs` (Linear(hidden, 2), start then
    end) + `nli_head` (dense → gelu → out_proj on [CLS]): exactly the layouts of the two stock
    transformers heads, so the weights load unchanged (strictly: a layout change fails here).
    """
    from safetensors.torch import load_file
    from transformers import (
        ElectraConfig,
        ElectraForQuestionAnswering,
        ElectraForSequenceClassification,
    )

    state = load_file(str(checkpoint / "model.safetensors"))
    encoder = {k: v for k, v in state.items() if k.startswith("electra.")}
    qa = ElectraForQuestionAnswering(ElectraConfig.from_pretrained(checkpoint, num_labels=2))
    qa.load_state_dict(
        {**encoder, **{k: v for k, v in state.items() if k.startswith("qa_outputs.")}}
    )
    labels = list(getattr(ElectraConfig.from_pretrained(checkpoint), "nli_labels", NLI_LABELS))
    nli_config = ElectraConfig.from_pretrained(
        checkpoint,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    nli = ElectraForSequenceClassification(nli_config)
    head = {
        "classifier." + k.removeprefix("nli_head."): v
        for k, v in state.items()
        if k.startswith("nli_head.")
    }
    nli.load_state_dict({**encoder, **head})
    return qa.eval(), nli.eval()


def create_naive_app(
    checkpoint: Path,
    threads: int,
    max_seq_len: int = 256,
    doc_stride: int = 128,
    max_question_len: int = 64,
    max_answer_len: int = 30,
) -> FastAPI:
    """FastAPI over the two pipelines; a lock runs one request at a time, as pipelines expect."""
    import torch
    from transformers import AutoTokenizer, pipeline

    torch.set_num_threads(threads)
    qa_model, nli_model = convert(checkpoint)
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    qa_pipe = pipeline("question-answering", model=qa_model, tokenizer=tokenizer, device="cpu")
    nli_pipe = pipeline("text-classification", model=nli_model, tokenizer=tokenizer, device="cpu")
    lock = threading.Lock()
    app = FastAPI(title="naive pipelines server")

    @app.post("/qa")
    def answer(body: QARequest) -> dict[str, Any]:
        with lock:
            out: dict[str, Any] = qa_pipe(
                question=body.question,
                context=body.context,
                max_seq_len=max_seq_len,
                doc_stride=doc_stride,
                max_question_len=max_question_len,
                max_answer_len=body.max_answer_len or max_answer_len,
                handle_impossible_answer=body.allow_no_answer,
            )
        return out

    @app.post("/nli")
    def classify(body: NLIRequest) -> dict[str, Any]:
        with lock:
            scores = nli_pipe({"text": body.premise, "text_pair": body.hypothesis}, top_k=None)
        best = max(scores, key=lambda s: s["score"])
        return {"label": best["label"], "scores": {s["label"]: s["score"] for s in scores}}

    @app.get("/health/ready")
    def ready() -> dict[str, str]:
        return {"status": "ready"}

    return app


def main(
    checkpoint: Annotated[Path, typer.Argument(help="RoadStudent checkpoint (road train final/)")],
    port: Annotated[int, typer.Option(help="TCP port on 127.0.0.1")] = 8001,
    threads: Annotated[int, typer.Option(help="torch intra-op threads")] = 1,
    max_seq_len: Annotated[int, typer.Option(help="QA window length, as the bundle")] = 256,
    doc_stride: Annotated[int, typer.Option(help="QA window overlap, as the bundle")] = 128,
    max_question_len: Annotated[int, typer.Option(help="Longest question in tokens")] = 64,
    max_answer_len: Annotated[int, typer.Option(help="Longest answer in tokens")] = 30,
) -> None:
    """Serve /qa and /nli through transformers pipelines, one request at a time."""
    import uvicorn

    app = create_naive_app(
        checkpoint, threads, max_seq_len, doc_stride, max_question_len, max_answer_len
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    typer.run(main)
