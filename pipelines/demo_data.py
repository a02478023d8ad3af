"""The churn demo table: deterministic, mixed types, a few blanks, an id column.

Generated from a fixed NumPy seed, so every install gets the same bytes (and the
same dataset sha256), without shipping a file. Plain Python, no Django.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CHURN_ROWS = 2000
CHURN_SEED = 8
CITIES = ("Lyon", "Paris", "Lille", "Nantes", "Bordeaux", "Toulouse", "Marseille", "Nice")
PLANS = ("basic", "standard", "premium")


def churn_table(rows: int = CHURN_ROWS, seed: int = CHURN_SEED) -> pd.DataFrame:
    """Customers and whether they left: numbers, two text columns (city, plan),
    about 5% blanks, an id column (customer_id) and the label ``churned`` (0/1)."""
    rng = np.random.default_rng(seed)
    city = rng.choice(CITIES, size=rows, p=[0.2, 0.25, 0.1, 0.1, 0.1, 0.1, 0.1, 0.05])
    plan = rng.choice(PLANS, size=rows, p=[0.45, 0.35, 0.2])
    tenure = rng.integers(1, 72, size=rows)
    age = rng.integers(18, 80, size=rows).astype(float)
    monthly = np.round(rng.normal(55, 18, size=rows).clip(15, 120) + 15 * (plan == "premium"), 2)
    support_calls = rng.poisson(1.5, size=rows)
    total = np.round(monthly * tenure * rng.uniform(0.9, 1.05, size=rows), 2)
    city_risk = pd.Series(city).map({"Paris": 0.6, "Marseille": 0.5, "Lille": -0.3, "Nice": 0.4}).fillna(0.0)
    logit = (
        -0.6
        + 1.1 * (plan == "basic")
        - 0.6 * (plan == "premium")
        - 0.045 * tenure
        + 0.025 * (monthly - 55)
        + 0.45 * support_calls
        - 0.01 * (age - 45)
        + city_risk.to_numpy()
    )
    churned = (rng.uniform(size=rows) < 1 / (1 + np.exp(-logit))).astype(int)
    table = pd.DataFrame(
        {
            "customer_id": np.arange(100001, 100001 + rows),
            "age": age,
            "tenure_months": tenure,
            "monthly_charges": monthly,
            "total_charges": total,
            "support_calls": support_calls,
            "city": pd.Series(city, dtype=object),
            "plan": pd.Series(plan, dtype=object),
            "churned": churned,
        }
    )
    for column in ("age", "monthly_charges", "total_charges", "city", "plan"):
        blank = rng.uniform(size=rows) < 0.05
        table.loc[blank, column] = np.nan
    return table


def churn_csv() -> bytes:
    """The demo table as the CSV a user would upload."""
    return churn_table().to_csv(index=False).encode()
