"""The server a user would write without road, for comparison (b) in docs/performance.md.

The same student weights behind FastAPI, through transformers' `pipeline("question-answering")`
and `pipeline("text-classification")` in PyTorch, one request at a time. It speaks road's /qa and
/nli request format so the same load generator drives both.

It needs transformers 4.x (5.x removed the question-answering pipeline), so it runs in its own
virtual environment (bench/naive-requirements.txt) and imports nothing from road:

    python -m venv /tmp/road-naive-venv
    /tmp/road-naive-venv/bin/pip install -r bench/naive-requirements.txt
    /tmp/road-naive-venv/bin/python -m bench.naive_server runs/student/final --port 8001
    # the 6-layer single-task teachers, one model per route (comparison (f)):
    /tmp/road-naive-venv/bin/python -m bench.naive_server checkpoints/teacher-qa \
        --nli-checkpoint checkpoints/teacher-nli-qa-init --port 8001
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


def _encoder_and(state: dict[str, Any], head: str, rename: str = "") -> dict[str, Any]:
    """The `electra.` weights plus one head's, the head's prefix replaced by `rename`."""
    encoder = {k: v for k, v in state.items() if k.startswith("electra.")}
    picked = {rename + k.removeprefix(head): v for k, v in state.items() if k.startswith(head)}
    return {**encoder, **picked}


def qa_model(checkpoint: Path) -> Any:
    """A RoadStudent checkpoint's encoder + `qa_outputs` as ElectraForQuestionAnswering."""
    from safetensors.torch import load_file
    from transformers import ElectraConfig, ElectraForQuestionAnswering

    state = load_file(str(checkpoint / "model.safetensors"))
    qa = ElectraForQuestionAnswering(ElectraConfig.from_pretrained(checkpoint, num_labels=2))
    qa.load_state_dict(_encoder_and(state, "qa_outputs.", "qa_outputs."))
    return qa.float().eval()


def nli_model(checkpoint: Path) -> Any:
    """A RoadStudent checkpoint's encoder + `nli_head` as ElectraForSequenceClassification."""
    from safetensors.torch import load_file
    from transformers import ElectraConfig, ElectraForSequenceClassification

    state = load_file(str(checkpoint / "model.safetensors"))
    labels = list(getattr(ElectraConfig.from_pretrained(checkpoint), "nli_labels", NLI_LABELS))
    nli_config = ElectraConfig.from_pretrained(
        checkpoint,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    nli = ElectraForSequenceClassification(nli_config)
    nli.load_state_dict(_encoder_and(state, "nli_head.", "classifier."))
    return nli.float().eval()


def convert(checkpoint: Path, nli_checkpoint: Path | None = None) -> tuple[Any, Any]:
    """RoadStudent checkpoints as ElectraForQuestionAnswering + ElectraForSequenceClassification.

    RoadStudent (training/model.py) is `electra` + `qa_outputs` (Linear(hidden, 2), start then
    end) + `nli_head` (dense → gelu → out_proj on [CLS]): exactly the layouts of the two stock
    transformers heads, so the weights load unchanged (strictly: a layout change fails here).
    One multi-task checkpoint gives both; two single-task teachers give one each (two encoders,
    as a user serving two models would run them). Compact fp16 checkpoints run in fp32.
    """
    return qa_model(checkpoint), nli_model(nli_checkpoint or checkpoint)


def create_naive_app(
    checkpoint: Path,
    threads: int,
    nli_checkpoint: Path | None = None,
    max_seq_len: int = 256,
    doc_stride: int = 128,
    max_question_len: int = 64,
    max_answer_len: int = 30,
) -> FastAPI:
    """FastAPI over the two pipelines; a lock runs one request at a time, as pipelines expect."""
    import torch
    from transformers import AutoTokenizer, pipeline

    torch.set_num_threads(threads)
    qa, nli = convert(checkpoint, nli_checkpoint)
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    nli_tokenizer = AutoTokenizer.from_pretrained(nli_checkpoint or checkpoint)
    qa_pipe = pipeline("question-answering", model=qa, tokenizer=tokenizer, device="cpu")
    nli_pipe = pipeline("text-classification", model=nli, tokenizer=nli_tokenizer, device="cpu")
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
    nli_checkpoint: Annotated[
        Path | None, typer.Option(help="Another checkpoint for /nli (a single-task teacher)")
    ] = None,
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
        checkpoint,
        threads,
        nli_checkpoint,
        max_seq_len,
        doc_stride,
        max_question_len,
        max_answer_len,
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    typer.run(main)
