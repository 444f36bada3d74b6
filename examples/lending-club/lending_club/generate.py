"""Loan applications shaped like Lending Club's public loan data (the LoanStats files, Kaggle's "loan.csv").

The real data cannot be downloaded everywhere this example runs, so this makes applications with its column names,
its text formats (" 36 months", "13.56%", "10+ years", "Dec-2015", "945xx") and plausible distributions. Income
depends on job title, employment length, home ownership and state, and shows in the loan amount, the revolving
balance and the verification status, so a model has something to learn. Job titles are typed by applicants, so
some come in other cases, with stray spaces or as abbreviations, and some are missing, as in the real file.

Seeded: the same arguments always give the same rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# (title, share of applicants, median annual income in USD)
JOBS = (
    ("Teacher", 6, 56_000), ("Manager", 6, 78_000), ("Registered Nurse", 5, 76_000), ("Supervisor", 4, 62_000),
    ("Driver", 4, 48_000), ("Owner", 3, 92_000), ("Sales", 3, 60_000), ("Project Manager", 3, 98_000),
    ("Engineer", 3, 102_000), ("Administrative Assistant", 3, 42_000), ("Office Manager", 2, 55_000),
    ("Software Engineer", 2, 128_000), ("Director", 2, 135_000), ("Police Officer", 2, 72_000),
    ("Accountant", 2, 68_000), ("Customer Service", 2, 38_000), ("Mechanic", 2, 52_000), ("Technician", 2, 54_000),
    ("Analyst", 2, 74_000), ("Attorney", 1, 150_000), ("Physician", 1, 230_000), ("President", 1, 160_000),
    ("Vice President", 1, 170_000), ("Cashier", 1, 28_000), ("Server", 1, 30_000),
)  # fmt: skip
ABBREVIATIONS = {"Registered Nurse": "RN", "Vice President": "VP", "Administrative Assistant": "Admin Assistant"}
UNKNOWN_JOB_MEDIAN = 62_000
MISSING_TITLE_SHARE = 0.06

EMP_LENGTHS = (
    ("< 1 year", 0.08, 0), ("1 year", 0.065, 1), ("2 years", 0.09, 2), ("3 years", 0.08, 3), ("4 years", 0.06, 4),
    ("5 years", 0.065, 5), ("6 years", 0.05, 6), ("7 years", 0.05, 7), ("8 years", 0.05, 8), ("9 years", 0.04, 9),
    ("10+ years", 0.33, 10), ("n/a", 0.04, 0),
)  # fmt: skip
# (home_ownership, share, effect on log income)
HOME_OWNERSHIP = (("MORTGAGE", 0.49, 0.1), ("RENT", 0.40, -0.08), ("OWN", 0.11, 0.0))
# (state, share, effect on log income, first digit of its ZIP codes)
STATES = (
    ("CA", 0.146, 0.12, "9"), ("NY", 0.083, 0.10, "1"), ("TX", 0.080, 0.02, "7"), ("FL", 0.069, -0.04, "3"),
    ("IL", 0.040, 0.03, "6"), ("NJ", 0.037, 0.14, "0"), ("PA", 0.034, 0.0, "1"), ("OH", 0.033, -0.05, "4"),
    ("GA", 0.032, -0.01, "3"), ("VA", 0.030, 0.08, "2"), ("NC", 0.028, -0.04, "2"), ("MI", 0.025, -0.05, "4"),
    ("MD", 0.024, 0.10, "2"), ("MA", 0.023, 0.12, "0"), ("AZ", 0.023, -0.02, "8"), ("WA", 0.022, 0.07, "9"),
    ("CO", 0.021, 0.05, "8"), ("MN", 0.018, 0.04, "5"), ("MO", 0.016, -0.06, "6"), ("CT", 0.015, 0.11, "0"),
    ("IN", 0.015, -0.06, "4"), ("NV", 0.014, -0.03, "8"), ("TN", 0.014, -0.06, "3"), ("WI", 0.013, -0.03, "5"),
    ("OR", 0.012, 0.01, "9"), ("AL", 0.012, -0.08, "3"), ("SC", 0.012, -0.06, "2"), ("LA", 0.012, -0.07, "7"),
    ("KY", 0.010, -0.08, "4"), ("OK", 0.009, -0.07, "7"),
)  # fmt: skip
# (purpose, share, the title Lending Club's form filled in for it)
PURPOSES = (
    ("debt_consolidation", 0.59, "Debt consolidation"), ("credit_card", 0.22, "Credit card refinancing"),
    ("home_improvement", 0.06, "Home improvement"), ("other", 0.05, "Other"),
    ("major_purchase", 0.02, "Major purchase"), ("small_business", 0.012, "Business"),
    ("car", 0.011, "Car financing"), ("medical", 0.01, "Medical expenses"), ("moving", 0.007, "Moving and relocation"),
    ("vacation", 0.006, "Vacation"), ("house", 0.004, "Home buying"), ("wedding", 0.002, "Wedding"),
)  # fmt: skip
# (grade, share, interest rate of its first sub-grade in percent)
GRADES = (("A", 0.17, 6.5), ("B", 0.29, 10.0), ("C", 0.28, 13.5), ("D", 0.16, 17.0), ("E", 0.07, 20.5),
          ("F", 0.025, 24.5), ("G", 0.005, 28.0))  # fmt: skip
LOAN_STATUSES = (("Current", 0.6), ("Fully Paid", 0.3), ("Charged Off", 0.08), ("Late (31-120 days)", 0.02))
VERIFICATION = ("Verified", "Source Verified", "Not Verified")

COLUMNS = (
    "id", "loan_amnt", "funded_amnt", "term", "int_rate", "installment", "grade", "sub_grade", "emp_title",
    "emp_length", "home_ownership", "annual_inc", "verification_status", "issue_d", "loan_status", "purpose", "title",
    "zip_code", "addr_state", "dti", "delinq_2yrs", "earliest_cr_line", "inq_last_6mths", "open_acc", "pub_rec",
    "revol_bal", "revol_util", "total_acc",
)  # fmt: skip


def generate_applications(rows: int, seed: int, issued: str = "Jan-2016") -> pd.DataFrame:
    """`rows` applications issued in month `issued` ("Mon-YYYY"), in the real file's columns and text formats."""
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    rng = np.random.default_rng(seed)
    issue = pd.Timestamp(pd.to_datetime(issued, format="%b-%Y"))

    job = _pick(rng, JOBS, rows)
    has_title = rng.random(rows) >= MISSING_TITLE_SHARE
    length = _pick(rng, EMP_LENGTHS, rows)
    years = np.array([EMP_LENGTHS[i][2] for i in length])
    home = _pick(rng, HOME_OWNERSHIP, rows)
    state = _pick(rng, STATES, rows)

    median = np.where(has_title, [JOBS[i][2] for i in job], UNKNOWN_JOB_MEDIAN)
    log_income = (
        np.log(median)
        + 0.025 * (years - 5)
        + np.array([HOME_OWNERSHIP[i][2] for i in home])
        + np.array([STATES[i][2] for i in state])
        + rng.normal(0.0, 0.3, rows)
    )
    income = np.clip(np.exp(log_income), 6_000, 2_000_000)
    # Most applicants state a round figure.
    annual_inc = np.where(rng.random(rows) < 0.7, np.round(income, -3), np.round(income, 0))
    standing = (log_income - log_income.mean()) / log_income.std()  # how well off, relative to the others

    loan_amnt = np.clip(np.round(income * rng.lognormal(np.log(0.2), 0.45, rows) / 25) * 25, 1_000, 40_000).astype(int)
    term_months = np.where(rng.random(rows) < 0.15 + 0.35 * loan_amnt / 40_000, 60, 36)
    grade = _pick(rng, GRADES, rows)
    sub = rng.integers(1, 6, rows)
    int_rate = np.round(np.array([GRADES[g][2] for g in grade]) + 0.7 * (sub - 1) + rng.normal(0, 0.25, rows), 2)
    monthly_rate = int_rate / 1200
    installment = np.round(loan_amnt * monthly_rate / (1 - (1 + monthly_rate) ** -term_months), 2)
    dti = np.round(np.clip(rng.normal(18, 8, rows) - 2.5 * standing, 0, 39.99), 2)
    revol_bal = np.round(income * rng.lognormal(np.log(0.15), 0.6, rows)).astype(int)
    revol_util = np.round(rng.beta(5, 4, rows) * 100, 1)
    open_acc = rng.poisson(11, rows) + 1
    history_years = np.clip(3 + 1.5 * years + rng.gamma(2.0, 3.0, rows), 1, 50)
    purpose = _pick(rng, PURPOSES, rows)
    not_verified = np.clip(0.32 - 0.12 * standing, 0.05, 0.8)
    verification = np.where(
        rng.random(rows) < not_verified, 2, np.where(rng.random(rows) < 0.5, 0, 1)
    )  # Verified / Source Verified share the rest

    frame = pd.DataFrame(
        {
            "id": 60_000_000 + seed * 1_000_000 + np.arange(rows),
            "loan_amnt": loan_amnt,
            "funded_amnt": loan_amnt,
            "term": [f" {m} months" for m in term_months],
            "int_rate": [f"{r:.2f}%" for r in int_rate],
            "installment": installment,
            "grade": [GRADES[g][0] for g in grade],
            "sub_grade": [f"{GRADES[g][0]}{s}" for g, s in zip(grade, sub, strict=True)],
            "emp_title": [_typed_title(rng, JOBS[j][0]) if t else None for j, t in zip(job, has_title, strict=True)],
            "emp_length": [EMP_LENGTHS[i][0] for i in length],
            "home_ownership": [HOME_OWNERSHIP[i][0] for i in home],
            "annual_inc": annual_inc,
            "verification_status": [VERIFICATION[v] for v in verification],
            "issue_d": issue.strftime("%b-%Y"),
            "loan_status": [LOAN_STATUSES[i][0] for i in _pick(rng, LOAN_STATUSES, rows)],
            "purpose": [PURPOSES[p][0] for p in purpose],
            "title": [PURPOSES[p][2] for p in purpose],
            "zip_code": [f"{STATES[s][3]}{d:02d}xx" for s, d in zip(state, rng.integers(0, 100, rows), strict=True)],
            "addr_state": [STATES[s][0] for s in state],
            "dti": dti,
            "delinq_2yrs": rng.poisson(0.3, rows),
            "earliest_cr_line": [(issue - pd.DateOffset(months=int(y * 12))).strftime("%b-%Y") for y in history_years],
            "inq_last_6mths": rng.poisson(0.7, rows),
            "open_acc": open_acc,
            "pub_rec": rng.poisson(0.2, rows),
            "revol_bal": revol_bal,
            "revol_util": [f"{u:.1f}%" for u in revol_util],
            "total_acc": open_acc + rng.poisson(13, rows),
        },
        columns=list(COLUMNS),
    )
    # A few values are missing in the real file too.
    frame.loc[rng.random(rows) < 0.002, "revol_util"] = None
    frame.loc[rng.random(rows) < 0.001, "dti"] = np.nan
    return frame


def _pick(rng: np.random.Generator, table: tuple[tuple, ...], rows: int) -> np.ndarray:
    """Row indexes into `table`, drawn by the shares in each row's second field."""
    shares = np.array([row[1] for row in table], dtype=float)
    return rng.choice(len(table), size=rows, p=shares / shares.sum())


def _typed_title(rng: np.random.Generator, title: str) -> str:
    """The job title as an applicant might type it: abbreviated, in other cases, with a stray space."""
    if title in ABBREVIATIONS and rng.random() < 0.3:
        return ABBREVIATIONS[title]
    roll = rng.random()
    if roll < 0.1:
        return title.lower()
    if roll < 0.15:
        return title.upper()
    if roll < 0.2:
        return title + " "
    return title
