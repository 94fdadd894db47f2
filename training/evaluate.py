"""Dev evaluation of a PyTorch student through the shared core evaluation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from road.core.data import read_nli, read_squad
from road.core.evaluation import Runner, evaluate_nli, evaluate_qa, with_negatives
from road.core.nli import NLIEncoder
from road.core.qa import QAEncoder
from road.training.config import TrainConfig
from road.training.model import RoadStudent

DEV_NEGATIVE_SEED = 1234


def torch_runner(model: RoadStudent) -> Runner:
    """Runs on the model's device (a GPU during GPU training); returns numpy on the CPU."""
    device = next(model.parameters()).device

    @torch.inference_mode()
    def run(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        start, end, nli = model(**{k: torch.from_numpy(v).to(device) for k, v in inputs.items()})
        return {
            "start_logits": start.float().cpu().numpy(),
            "end_logits": end.float().cpu().numpy(),
            "nli_logits": nli.float().cpu().numpy(),
        }

    return run


def evaluate_with(
    runner: Runner, config: TrainConfig, tokenizer_dir: Path, limit: int | None = None
) -> dict:
    """Dev metrics of any runner for every configured task; QA dev gets unanswerable pairs too.

    The export quality gate calls this with an ONNX Runtime runner, so the checkpoint and its
    exported graph are always scored on exactly the same examples.
    """
    result: dict = {}
    if config.qa is not None:
        qa = config.qa
        encoder = QAEncoder.from_file(
            tokenizer_dir, qa.max_seq_len, qa.doc_stride, qa.max_question_tokens
        )
        examples = read_squad(qa.dev)[: limit or qa.dev_limit]
        examples = with_negatives(
            examples, qa.negative_fraction, qa.same_article_fraction, DEV_NEGATIVE_SEED
        )
        qa_eval = evaluate_qa(runner, encoder, examples, max_answer_len=qa.max_answer_len)
        result["qa"] = {**qa_eval.metrics, "null_threshold": qa_eval.null_threshold}
    if config.nli is not None:
        encoder_nli = NLIEncoder.from_file(tokenizer_dir, config.nli.max_seq_len)
        examples_nli = read_nli(config.nli.dev)[: limit or config.nli.dev_limit]
        result["nli"] = evaluate_nli(runner, encoder_nli, examples_nli)
    return result


def evaluate(
    model: RoadStudent, config: TrainConfig, tokenizer_dir: Path, limit: int | None = None
) -> dict:
    """Dev metrics of a PyTorch student (evaluated in eval mode, its mode restored after)."""
    was_training = model.training
    model.eval()
    try:
        return evaluate_with(torch_runner(model), config, tokenizer_dir, limit)
    finally:
        model.train(was_training)
