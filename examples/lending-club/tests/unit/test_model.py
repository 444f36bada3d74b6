"""The income model: each kind trains, the real model beats the baseline, scoring is RMSE in dollars."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lending_club.model import MODEL_KINDS, Trained, predict, rmse, train


def test_gradient_boosting_beats_the_baseline_on_curated_data(good: Trained, baseline: Trained, curated: pd.DataFrame):
    """The model learns income from the applications: clearly lower error than predicting the median."""
    assert rmse(good.model, curated) < 0.85 * rmse(baseline.model, curated)


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_every_kind_trains_and_predicts_dollars(kind: str, clean: pd.DataFrame) -> None:
    """Each model kind fits and predicts positive incomes; the metrics come from held-out rows."""
    trained = train(clean.head(800), kind, seed=2)
    predictions = predict(trained.model, clean.tail(50))
    assert predictions.shape == (50,) and (predictions > 0).all()
    assert trained.metrics["validation_rmse"] > 0
    assert 500 < trained.metrics["training_rows"] < 800


def test_training_is_deterministic(clean: pd.DataFrame) -> None:
    """The same data and seed give the same predictions."""
    first, second = (train(clean.head(500), "gradient_boosting", seed=4) for _ in range(2))
    np.testing.assert_array_equal(predict(first.model, clean.tail(20)), predict(second.model, clean.tail(20)))


def test_unknown_categories_do_not_break_prediction(good: Trained, curated: pd.DataFrame) -> None:
    """A job title or state never seen in training still gets a prediction."""
    odd = curated.head(3).copy()
    odd["job"] = "astronaut"
    odd["addr_state"] = "ZZ"
    assert np.isfinite(predict(good.model, odd)).all()


def test_rmse_is_in_dollars(good: Trained, curated: pd.DataFrame) -> None:
    """RMSE is the root of the mean squared dollar error; scoring nothing is an error."""
    errors = predict(good.model, curated) - curated["annual_inc"].to_numpy()
    assert rmse(good.model, curated) == pytest.approx(float(np.sqrt(np.mean(errors**2))))
    with pytest.raises(ValueError, match="no rows"):
        rmse(good.model, curated.head(0))


def test_unknown_model_kind_names_the_choices(clean: pd.DataFrame) -> None:
    """A misspelt model widget fails with the kinds there are."""
    with pytest.raises(ValueError, match="gradient_boosting, ridge, baseline"):
        train(clean.head(100), "xgboost")
