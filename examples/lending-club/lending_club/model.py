"""The income model: a scikit-learn pipeline from clean applications to annual income, and how it is scored."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .features import CATEGORICAL, FEATURES, NUMERIC, TARGET

# "baseline" predicts the median income whatever the application says: deliberately weak, what any model must beat
# (and what the tests train to show that a worse model is not promoted).
MODEL_KINDS = ("gradient_boosting", "ridge", "baseline")
VALIDATION_SHARE = 0.2


@dataclass(frozen=True)
class Trained:
    model: Pipeline
    metrics: dict[str, float]


def build_model(kind: str, seed: int = 0) -> Pipeline:
    """An unfitted pipeline: imputation, scaling and one-hot encoding, then the regressor `kind` on log income."""
    regressors = {
        "gradient_boosting": lambda: HistGradientBoostingRegressor(
            max_iter=150, learning_rate=0.08, l2_regularization=1.0, random_state=seed
        ),
        "ridge": lambda: Ridge(alpha=3.0),
        "baseline": lambda: DummyRegressor(strategy="median"),
    }
    if kind not in regressors:
        raise ValueError(f"model must be one of {', '.join(MODEL_KINDS)}, got {kind!r}")
    numeric = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    categorical = Pipeline(
        [
            ("impute", SimpleImputer(strategy="constant", fill_value="missing")),
            ("encode", OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=10, sparse_output=False)),
        ]
    )
    prepare = ColumnTransformer([("numeric", numeric, list(NUMERIC)), ("categorical", categorical, list(CATEGORICAL))])
    # Incomes are skewed: the regressor learns their logarithm, the pipeline predicts dollars.
    regressor = TransformedTargetRegressor(regressors[kind](), func=np.log, inverse_func=np.exp)
    return Pipeline([("prepare", prepare), ("regress", regressor)])


def train(frame: pd.DataFrame, kind: str, seed: int = 0) -> Trained:
    """Fit on a seeded 80 % of the rows; metrics on the other 20 %."""
    rng = np.random.default_rng(seed)
    held_out = rng.random(len(frame)) < VALIDATION_SHARE
    fitting, validation = frame[~held_out], frame[held_out]
    model = build_model(kind, seed).fit(fitting[list(FEATURES)], fitting[TARGET])
    metrics = {
        "validation_rmse": round(rmse(model, validation), 2),
        "validation_mae": round(float(np.mean(np.abs(predict(model, validation) - validation[TARGET]))), 2),
        "training_rows": float(len(fitting)),
    }
    return Trained(model, metrics)


def predict(model: Pipeline, frame: pd.DataFrame) -> np.ndarray:
    return np.asarray(model.predict(frame[list(FEATURES)]), dtype=float)


def rmse(model: Pipeline, frame: pd.DataFrame) -> float:
    """Root mean squared error in dollars of annual income."""
    if frame.empty:
        raise ValueError("cannot score a model on no rows")
    errors = predict(model, frame) - frame[TARGET].to_numpy(dtype=float)
    return float(np.sqrt(np.mean(errors**2)))
