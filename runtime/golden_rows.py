"""The golden rows file, `golden.json`: its schema and reader (the check: `road.runtime.golden`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from road.core.bundle import ClassificationTaskInfo, Manifest, SpanTaskInfo
from road.core.errors import BundleError

GOLDEN_FILE = "golden.json"
GOLDEN_FORMAT = 1


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Tolerance(_Frozen):
    """How far outputs may move: raw logits, and probabilities (scores)."""

    logit_atol: float = Field(gt=0)
    score_atol: float = Field(gt=0)


class Probe(_Frozen):
    """One encoder row's stored logits: per-token outputs at `positions`, the others whole."""

    positions: tuple[int, ...] = ()
    at: dict[str, tuple[float, ...]] = Field(default_factory=dict)
    whole: dict[str, tuple[float, ...]] = Field(default_factory=dict)


class GoldenRow(_Frozen):
    task: str
    id: str
    request: dict[str, Any]
    response: dict[str, Any]
    # In units of one logit's worst-case drift; a row at or under logit_atol is a close call.
    margin: float
    probes: tuple[Probe, ...]


class GoldenSet(_Frozen):
    format_version: int = GOLDEN_FORMAT
    provider: str
    precision: str
    # Each task's manifest entry (non-default fields) when the rows were computed.
    settings: dict[str, dict[str, Any]]
    tolerances: dict[str, Tolerance]
    rows: tuple[GoldenRow, ...]

    def tolerance(self, provider: str) -> Tolerance:
        """The larger of the reference provider's tolerance and `provider`'s."""
        entries = [self.tolerances[p] for p in (self.provider, provider) if p in self.tolerances]
        if not entries:
            raise BundleError(f"{GOLDEN_FILE} has no tolerance for {provider}")
        return Tolerance(
            logit_atol=max(t.logit_atol for t in entries),
            score_atol=max(t.score_atol for t in entries),
        )


def task_settings(info: SpanTaskInfo | ClassificationTaskInfo) -> dict[str, Any]:
    """The entry fields that decide a task's answers, as the golden file records them."""
    return info.model_dump(mode="json", exclude_defaults=True)


def read_golden(bundle_dir: Path, manifest: Manifest) -> GoldenSet | None:
    """The bundle's golden rows, or None when its manifest lists no `golden.json`."""
    if GOLDEN_FILE not in manifest.files:
        return None
    try:
        return GoldenSet.model_validate_json((bundle_dir / GOLDEN_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise BundleError(f"{bundle_dir / GOLDEN_FILE}: unreadable golden rows: {exc}") from exc
