"""Export's domain errors; parity failures use `road.core.errors.ParityError`."""

from __future__ import annotations

from road.core.errors import RoadError


class ExportError(RoadError):
    """A checkpoint cannot be exported: a file is missing or a setting is unsupported."""


class QualityGateError(ExportError):
    """The exported graph scores worse on dev than its checkpoint by more than the budget."""

    def __init__(self, drops: dict[str, float], budget: float) -> None:
        failed = ", ".join(
            f"{name} -{drop:.2f}" for name, drop in drops.items() if not drop <= budget
        )
        super().__init__(f"quality gate failed (budget {budget:g} points): {failed}")
        self.drops = drops
        self.budget = budget
