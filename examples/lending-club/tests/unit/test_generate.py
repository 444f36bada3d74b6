"""The generator: Lending Club's columns and formats, plausible distributions, the same rows for the same seed."""

from __future__ import annotations

import pandas as pd
import pytest

from lending_club.generate import COLUMNS, generate_applications


def test_columns_are_lending_clubs(raw: pd.DataFrame) -> None:
    """The frame has the real file's column names, in order, and one row per application."""
    assert tuple(raw.columns) == COLUMNS
    assert len(raw) == 3000 and raw["id"].is_unique
    for name in ("emp_title", "emp_length", "home_ownership", "annual_inc", "addr_state", "purpose", "dti"):
        assert name in raw.columns


def test_text_formats_are_the_published_ones(raw: pd.DataFrame) -> None:
    """Term, rates, employment length, dates and ZIP codes are written as Lending Club writes them."""
    assert set(raw["term"]) == {" 36 months", " 60 months"}
    assert raw["int_rate"].str.fullmatch(r"\d+\.\d\d%").all()
    assert raw["revol_util"].dropna().str.fullmatch(r"\d+\.\d%").all()
    assert set(raw["emp_length"]) <= {"< 1 year", "1 year", "10+ years", "n/a"} | {f"{n} years" for n in range(2, 10)}
    assert raw["issue_d"].eq("Jan-2016").all()
    assert raw["earliest_cr_line"].str.fullmatch(r"[A-Z][a-z]{2}-\d{4}").all()
    assert raw["zip_code"].str.fullmatch(r"\d{3}xx").all()
    assert set(raw["home_ownership"]) == {"MORTGAGE", "RENT", "OWN"}
    assert raw["sub_grade"].str[0].eq(raw["grade"]).all()


def test_distributions_are_plausible(raw: pd.DataFrame) -> None:
    """Incomes, loans, debt ratios and shares are in the ranges of the real data."""
    assert 50_000 < raw["annual_inc"].median() < 95_000
    assert raw["annual_inc"].min() >= 6_000
    assert raw["loan_amnt"].between(1_000, 40_000).all()
    assert raw["dti"].dropna().between(0, 40).all()
    assert 0.4 < (raw["home_ownership"] == "MORTGAGE").mean() < 0.6
    assert 0.5 < (raw["purpose"] == "debt_consolidation").mean() < 0.7
    assert 0.02 < raw["emp_title"].isna().mean() < 0.1
    assert (raw["addr_state"] == "CA").mean() > (raw["addr_state"] == "OK").mean()


def test_income_depends_on_the_job(raw: pd.DataFrame) -> None:
    """Software engineers earn more than cashiers, and higher incomes borrow more: there is signal to learn."""
    title = raw["emp_title"].str.strip().str.lower()
    assert (
        raw.loc[title == "software engineer", "annual_inc"].median()
        > 2 * raw.loc[title == "cashier", "annual_inc"].median()
    )
    assert raw["annual_inc"].corr(raw["loan_amnt"]) > 0.3


def test_titles_are_typed_like_applicants_type_them(raw: pd.DataFrame) -> None:
    """Some titles come abbreviated, in other cases or with stray spaces."""
    titles = set(raw["emp_title"].dropna())
    assert "RN" in titles and "Registered Nurse" in titles
    assert any(t.isupper() and len(t) > 3 for t in titles)
    assert any(t != t.strip() for t in titles)


def test_same_seed_same_rows_other_seed_other_rows() -> None:
    """Generation is deterministic per seed."""
    pd.testing.assert_frame_equal(generate_applications(200, seed=5), generate_applications(200, seed=5))
    assert not generate_applications(200, seed=5).equals(generate_applications(200, seed=6))


def test_rows_must_be_positive() -> None:
    """Asking for no rows is an error that says so."""
    with pytest.raises(ValueError, match="rows must be at least 1"):
        generate_applications(0, seed=1)
