"""A multiclass table with a planted group bias, for the multiclass mitigation tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

TIERS = ("high", "low", "mid")


def tiers_table(rows: int = 1200, *, seed: int = 0) -> pd.DataFrame:
    """``tier`` (low/mid/high) from ``skill`` with group 1 pushed down; ``proxy`` carries the group.

    A model trained without ``group`` still learns the bias through ``proxy``:
    group 1 gets fewer "high" and more "low" than group 0.
    """
    rng = np.random.default_rng(seed)
    group = (rng.random(rows) < 0.4).astype(int)
    skill = rng.normal(size=rows)
    score = skill - 0.9 * group + rng.normal(0, 0.5, rows)
    return pd.DataFrame(
        {
            "skill": skill.round(6),
            "other": rng.normal(size=rows).round(6),
            "proxy": (group + rng.normal(0, 0.5, rows)).round(6),
            "group": group,
            "tier": np.select([score < -0.6, score < 0.6], ["low", "mid"], "high"),
        }
    )
