"""Champion against challenger: score both on the curated set, promote the candidate only when it is better.

Evaluation and promotion share `compare`, so the promotion step re-checks the numbers itself and never moves the
production alias on the word of an earlier step alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from .features import TARGET
from .model import predict, rmse
from .registry import CHALLENGER, PRODUCTION, ModelRegistry


@dataclass(frozen=True)
class Decision:
    """What the evaluation found. `promote` is true when the candidate should take the production alias."""

    candidate_version: str
    rmse: float
    production_version: str | None
    production_rmse: float | None
    promote: bool
    reason: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def compare(
    registry: ModelRegistry, curated: pd.DataFrame, candidate_version: str = "", min_improvement: float = 0.0
) -> Decision:
    """Score the candidate (default: the version the challenger alias names) and the production model on `curated`.

    The candidate is promoted when there is no production model yet, or when its RMSE is lower than production's
    by more than `min_improvement` (a fraction: 0.01 asks for 1 % better).
    """
    if not 0.0 <= min_improvement < 1.0:
        raise ValueError(f"min_improvement must be a fraction in [0, 1), got {min_improvement}")
    candidate = candidate_version or registry.version_for(CHALLENGER)
    if candidate is None:
        raise LookupError(f"no candidate: give a version, or train a model first (it sets the {CHALLENGER} alias)")
    score = round(rmse(registry.load(candidate), curated), 2)
    production = registry.version_for(PRODUCTION)
    if production is None:
        return Decision(candidate, score, None, None, True, "no production model yet")
    if production == candidate:
        return Decision(candidate, score, production, score, False, f"version {candidate} is already in production")
    production_score = round(rmse(registry.load(production), curated), 2)
    threshold = production_score * (1.0 - min_improvement)
    better = score < threshold
    verdict = "lower than" if better else "not lower than"
    reason = (
        f"RMSE {score:,.2f} is {verdict} {threshold:,.2f} (production version {production}: {production_score:,.2f})"
    )
    return Decision(candidate, score, production, production_score, better, reason)


def promote_if_better(
    registry: ModelRegistry, curated: pd.DataFrame, candidate_version: str = "", min_improvement: float = 0.0
) -> Decision:
    """Compare, and move the production alias to the candidate only when the comparison says so."""
    decision = compare(registry, curated, candidate_version, min_improvement)
    if decision.promote:
        registry.set_alias(PRODUCTION, decision.candidate_version)
    return decision


def plot_predictions(registry: ModelRegistry, curated: pd.DataFrame, version: str) -> Any:
    """A matplotlib figure of the model's predicted incomes against the actual ones on `curated`, with the line where
    they are equal: how far off the model is, and where. Shown in the notebook's cell (display(figure))."""
    from matplotlib.figure import Figure  # imported here: scoring and promotion need no plotting library

    actual = curated[TARGET].to_numpy(dtype=float)
    predicted = predict(registry.load(version), curated)
    figure = Figure(figsize=(6, 5))
    axes = figure.add_subplot()
    axes.scatter(actual, predicted, s=6, alpha=0.4)
    low, high = float(min(actual.min(), predicted.min())), float(max(actual.max(), predicted.max()))
    axes.plot([low, high], [low, high], color="black", linewidth=1, label="predicted = actual")
    axes.set(xlabel="actual annual income", ylabel="predicted annual income", title=f"Version {version}")
    axes.legend(loc="upper left")
    return figure
