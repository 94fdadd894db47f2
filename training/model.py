"""The multi-task student: one shared ELECTRA encoder with a span head and an NLI head."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from transformers import ElectraConfig, ElectraModel, ElectraPreTrainedModel

from road.core.tasks import NLI


class NLIHead(nn.Module):
    """ELECTRA's sequence-classification head on the [CLS] state."""

    def __init__(self, config: ElectraConfig, num_labels: int) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.out_proj = nn.Linear(config.hidden_size, num_labels)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        x = self.dropout(hidden[:, 0])
        x = nn.functional.gelu(self.dense(x))
        return self.out_proj(self.dropout(x))


class RoadStudent(ElectraPreTrainedModel):
    """Every head runs on every row, so one graph run answers QA windows and NLI pairs alike.

    Loads from any ELECTRA checkpoint (`electra.*` keys) with `from_pretrained`; heads missing
    from the checkpoint start from random.
    """

    def __init__(self, config: ElectraConfig) -> None:
        super().__init__(config)
        config.nli_labels = list(getattr(config, "nli_labels", NLI.labels))
        self.electra = ElectraModel(config)
        self.qa_outputs = nn.Linear(config.hidden_size, 2)
        self.nli_head = NLIHead(config, len(config.nli_labels))
        self.post_init()

    @classmethod
    def from_pretrained(cls, *args: Any, **kwargs: Any) -> RoadStudent:  # type: ignore[override]
        """As transformers', but in fp32 unless asked otherwise: compact checkpoints are fp16."""
        kwargs.setdefault("dtype", torch.float32)
        return super().from_pretrained(*args, **kwargs)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        hidden = self.electra(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        return self.heads(hidden)

    def heads(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Start, end and NLI logits from the encoder's last hidden states."""
        start_logits, end_logits = self.qa_outputs(hidden).unbind(dim=-1)
        return start_logits, end_logits, self.nli_head(hidden)


def keep_layers(model: RoadStudent, indices: Sequence[int]) -> RoadStudent:
    """Keep only the given encoder layers (in order), making a smaller student."""
    layers = model.electra.encoder.layer
    if not indices or any(not 0 <= i < len(layers) for i in indices):
        raise ValueError(f"layer indices {list(indices)} outside 0..{len(layers) - 1}")
    model.electra.encoder.layer = nn.ModuleList([layers[i] for i in indices])
    model.config.num_hidden_layers = len(indices)
    return model


def set_attention_dropout(model: RoadStudent, p: float) -> RoadStudent:
    """Set the attention-probability dropout of every layer (and the saved config).

    At 0, PyTorch's SDPA runs its fused CPU kernel; with dropout it falls back to the math
    path and draws a Bernoulli mask over every attention matrix (half a QA step on CPU).
    """
    model.config.attention_probs_dropout_prob = p
    for name, module in model.named_modules():
        if name.endswith("attention.self.dropout") and isinstance(module, nn.Dropout):
            module.p = p
    return model
