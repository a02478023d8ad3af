"""The ``loans`` built-in dataset: synthetic loan decisions with a planted bias.

Generated from a fixed NumPy seed (same bytes on every install, nothing
shipped). Every column is numeric. ``group`` (0 or 1) is the sensitive
column: group 1 is the smaller one (30%) and its approval odds are cut on
purpose (``GROUP_EFFECT`` on the log-odds), so the bias reports have something
real to find. ``zip_score`` is a proxy: it barely predicts approval itself but
follows ``group`` closely. ``credit_score`` is the strongest legitimate
feature. Plain Python, no Django.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

LOANS_ROWS = 5000
LOANS_SEED = 11
GROUP_SHARE = 0.3
# Planted on the log-odds of approval; in probability it is about −0.17 (group 1 − group 0).
GROUP_EFFECT = -1.0
COLUMNS = (
    "group",
    "age",
    "income",
    "credit_score",
    "debt_ratio",
    "years_employed",
    "loan_amount",
    "zip_score",
    "target",
)


def loans_probabilities(
    rows: int = LOANS_ROWS, seed: int = LOANS_SEED
) -> tuple[pd.DataFrame, np.ndarray]:
    """The features and each row's true approval probability (what ``target`` is drawn from)."""
    rng = np.random.default_rng(seed)
    group = (rng.uniform(size=rows) < GROUP_SHARE).astype(int)
    age = rng.integers(21, 70, size=rows)
    income = np.round(rng.lognormal(mean=10.6, sigma=0.35, size=rows), -2)
    credit_score = np.round(rng.normal(660, 60, size=rows).clip(350, 850))
    debt_ratio = np.round(rng.beta(2, 5, size=rows), 3)
    years_employed = np.round(rng.gamma(2.0, 3.0, size=rows).clip(0, 45), 1)
    loan_amount = np.round(income * rng.uniform(0.2, 0.9, size=rows), -2)
    zip_score = np.round(rng.normal(0, 1, size=rows) * 0.5 + 1.5 * group, 3)
    logit = (
        0.3
        + 0.035 * (credit_score - 660)
        - 3.0 * (debt_ratio - 0.28)
        + 0.8 * (np.log(income) - 10.6)
        + 0.03 * (years_employed - 6)
        - 0.6 * (loan_amount / income - 0.55)
        + GROUP_EFFECT * group
    )
    probability = 1 / (1 + np.exp(-logit))
    features = pd.DataFrame(
        {
            "group": group,
            "age": age,
            "income": income,
            "credit_score": credit_score,
            "debt_ratio": debt_ratio,
            "years_employed": years_employed,
            "loan_amount": loan_amount,
            "zip_score": zip_score,
        }
    )
    return features, probability


def loans_table(rows: int = LOANS_ROWS, seed: int = LOANS_SEED) -> pd.DataFrame:
    """Loan applications and whether each was approved (``target``: 1 approved, 0 refused)."""
    features, probability = loans_probabilities(rows, seed)
    rng = np.random.default_rng(seed + 1)
    table = features.copy()
    table["target"] = (rng.uniform(size=rows) < probability).astype(int)
    return table
