"""Cleaning raw applications into model input, and curating the evaluation set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lending_club.features import (
    FEATURES,
    TARGET,
    clean_applications,
    curate,
    normalize_job_titles,
    parse_emp_length,
    parse_percent,
)


def test_percentages_become_numbers() -> None:
    """'13.56%' -> 13.56, missing stays missing."""
    parsed = parse_percent(pd.Series(["13.56%", " 7.0%", None]))
    assert parsed.iloc[0] == 13.56 and parsed.iloc[1] == 7.0 and np.isnan(parsed.iloc[2])


def test_employment_length_becomes_years() -> None:
    """'< 1 year' is 0, '10+ years' is 10, 'n/a' is unknown."""
    parsed = parse_emp_length(pd.Series(["< 1 year", "1 year", "6 years", "10+ years", "n/a", None]))
    assert parsed.iloc[:4].tolist() == [0.0, 1.0, 6.0, 10.0]
    assert parsed.iloc[4:].isna().all()


def test_job_titles_get_one_spelling() -> None:
    """Case, spaces and abbreviations no longer split one job into several; missing titles are 'unknown'."""
    titles = pd.Series(["Registered Nurse", "RN", "registered  nurse ", "VP", None, "  "])
    assert normalize_job_titles(titles).tolist() == [
        "registered nurse",
        "registered nurse",
        "registered nurse",
        "vice president",
        "unknown",
        "unknown",
    ]


def test_clean_applications_have_features_and_target(raw: pd.DataFrame, clean: pd.DataFrame) -> None:
    """Every feature and the target are present, numeric features are numbers, one row per application."""
    assert list(clean.columns) == ["id", *FEATURES, TARGET]
    assert len(clean) == len(raw)
    assert clean["term_months"].isin([36, 60]).all()
    assert clean["int_rate"].between(5, 35).all()
    assert clean["credit_history_years"].gt(0).all()
    assert "rn" not in set(clean["job"])


def test_unusable_and_duplicate_applications_are_dropped(raw: pd.DataFrame) -> None:
    """Rows without a positive income, and repeated ids, are left out."""
    messy = pd.concat([raw.head(5), raw.head(2)], ignore_index=True)
    messy.loc[0, TARGET] = 0
    messy.loc[1, TARGET] = np.nan
    assert clean_applications(messy)["id"].tolist() == raw["id"].iloc[2:5].tolist()


def test_other_data_is_refused_naming_the_missing_columns() -> None:
    """A frame that is not loan data fails with the columns it lacks."""
    with pytest.raises(ValueError, match="lack the columns"):
        clean_applications(pd.DataFrame({"id": [1], "annual_inc": [1.0]}))


def test_curated_rows_are_verified_and_complete(clean: pd.DataFrame) -> None:
    """The evaluation set holds only verified incomes and no missing values."""
    curated = curate(clean)
    assert 0 < len(curated) < len(clean)
    assert curated["verification_status"].isin(["Verified", "Source Verified"]).all()
    assert not curated[list(FEATURES)].isna().any().any()
