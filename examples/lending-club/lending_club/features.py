"""From raw applications to model input: parsed numbers, one spelling per job title, derived features.

The raw columns are text as Lending Club publishes them (" 36 months", "13.56%", "10+ years", "Dec-2015"); the
model wants numbers and clean categories. `clean_applications` does that and nothing else, so the same code serves
training, evaluation and tests; spark_prepare.py does the same with Spark, and tests/unit holds the two to the same
rows. `curate` keeps the rows fit to judge a model on.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

TARGET = "annual_inc"
NUMERIC = (
    "loan_amnt", "term_months", "int_rate", "installment", "emp_length_years", "dti", "revol_bal", "revol_util",
    "open_acc", "total_acc", "delinq_2yrs", "inq_last_6mths", "pub_rec", "credit_history_years",
)  # fmt: skip
CATEGORICAL = ("grade", "home_ownership", "verification_status", "purpose", "addr_state", "job")
FEATURES = NUMERIC + CATEGORICAL
UNKNOWN_JOB = "unknown"
# What applicants type for the same job.
JOB_ALIASES = {"rn": "registered nurse", "vp": "vice president", "admin assistant": "administrative assistant"}
VERIFIED = ("Verified", "Source Verified")
DERIVED = ("term_months", "emp_length_years", "credit_history_years", "job")  # what cleaning makes
# The raw columns cleaning reads (both engines: this module and spark_prepare.py); a frame without one of them is not
# Lending Club's loan data.
RAW_INPUT = (
    "id", *(c for c in FEATURES if c not in DERIVED), "term", "emp_length", "emp_title", "issue_d", "earliest_cr_line",
    TARGET,
)  # fmt: skip


def clean_applications(raw: pd.DataFrame) -> pd.DataFrame:
    """`id`, the FEATURES and the TARGET of each usable application: parsed, normalized, duplicates dropped.

    Applications without a positive income cannot teach or test an income model and are left out.
    """
    check_columns(raw.columns)
    frame = raw.drop_duplicates("id").copy()
    frame = frame[pd.to_numeric(frame[TARGET], errors="coerce") > 0]
    issued = pd.to_datetime(frame["issue_d"], format="%b-%Y")
    first_credit = pd.to_datetime(frame["earliest_cr_line"], format="%b-%Y")
    frame["term_months"] = frame["term"].str.strip().str.split().str[0].astype(int)
    frame["int_rate"] = parse_percent(frame["int_rate"])
    frame["revol_util"] = parse_percent(frame["revol_util"])
    frame["emp_length_years"] = parse_emp_length(frame["emp_length"])
    frame["credit_history_years"] = ((issued - first_credit).dt.days / 365.25).round(1)
    frame["job"] = normalize_job_titles(frame["emp_title"])
    # Model input is float throughout: any column may miss values in a later batch.
    frame[list(NUMERIC)] = frame[list(NUMERIC)].astype(float)
    frame[TARGET] = frame[TARGET].astype(float)
    return frame[["id", *FEATURES, TARGET]].reset_index(drop=True)


def check_columns(columns: Iterable[str]) -> None:
    """Refuse a frame that is not loan data, naming the columns it lacks, before any work."""
    present = set(columns)
    missing = [c for c in RAW_INPUT if c not in present]
    if missing:
        raise ValueError(f"raw applications lack the columns {missing}: are these Lending Club loan records?")


def parse_percent(values: pd.Series) -> pd.Series:
    """'13.56%' -> 13.56; missing stays missing."""
    return pd.to_numeric(values.astype("string").str.strip().str.rstrip("%"), errors="coerce").astype(float)


def parse_emp_length(values: pd.Series) -> pd.Series:
    """'< 1 year' -> 0, '1 year' -> 1, '10+ years' -> 10, 'n/a' or missing -> NaN."""
    text = values.astype("string").str.strip().str.lower()
    years = pd.to_numeric(text.str.extract(r"(\d+)", expand=False), errors="coerce")
    return years.where(~text.str.startswith("<", na=False), 0.0).astype(float)


def normalize_job_titles(values: pd.Series) -> pd.Series:
    """One spelling per job: lower case, single spaces, known abbreviations spelled out, missing -> 'unknown'."""
    text = values.astype("string").str.strip().str.lower().str.replace(r"\s+", " ", regex=True)
    text = text.replace(JOB_ALIASES)
    return text.fillna(UNKNOWN_JOB).replace("", UNKNOWN_JOB).astype(object)


def curate(clean: pd.DataFrame) -> pd.DataFrame:
    """The rows a model is judged on: income verified by Lending Club, nothing missing."""
    verified = clean["verification_status"].isin(VERIFIED)
    return clean[verified].dropna(subset=list(FEATURES)).reset_index(drop=True)
