"""Small seeded data shared by the unit tests, made once per session (training a model takes a moment)."""

from __future__ import annotations

import pandas as pd
import pytest

from lending_club.features import clean_applications, curate
from lending_club.generate import generate_applications
from lending_club.model import Trained, train


@pytest.fixture(scope="session")
def raw() -> pd.DataFrame:
    return generate_applications(3000, seed=11)


@pytest.fixture(scope="session")
def clean(raw: pd.DataFrame) -> pd.DataFrame:
    return clean_applications(raw)


@pytest.fixture(scope="session")
def curated() -> pd.DataFrame:
    return curate(clean_applications(generate_applications(1500, seed=12)))


@pytest.fixture(scope="session")
def good(clean: pd.DataFrame) -> Trained:
    return train(clean, "gradient_boosting", seed=1)


@pytest.fixture(scope="session")
def baseline(clean: pd.DataFrame) -> Trained:
    return train(clean, "baseline", seed=1)
