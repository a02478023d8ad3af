"""Loading and splitting tables (the work behind ``dataset.*`` and ``data.split``)."""

from __future__ import annotations

import functools
import math

import pandas as pd
from sklearn import datasets
from sklearn.model_selection import train_test_split

from .base import BlockError
from .core import BUILTIN_DATASETS

TARGET = "target"


def load_builtin(name: str) -> pd.DataFrame:
    """A dataset shipped with scikit-learn: feature columns, then ``target``.

    A copy of the table this process read first (each is a few thousand rows at most):
    parsing the CSV again took 4 to 9 ms of every demo run.
    """
    if name not in BUILTIN_DATASETS:
        raise BlockError(
            f"unknown dataset {name!r}; choose one of {', '.join(BUILTIN_DATASETS)}",
            param="name",
        )
    return _read_builtin(name).copy()


@functools.cache
def _read_builtin(name: str) -> pd.DataFrame:
    if name == "loans":  # synthetic and seeded, not one of scikit-learn's
        from .loans import loans_table

        return loans_table()
    bunch = getattr(datasets, f"load_{name}")(as_frame=True)
    table = bunch.frame.copy()
    if TARGET not in table.columns:  # every loader names it "target"; keep the contract
        table[TARGET] = bunch.target
    return table


def split_table(
    table: pd.DataFrame, *, test_size: float, stratify_column: str | None, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train and test parts, reproducible for a given ``seed``; indexes are reset."""
    n_rows = len(table)
    n_test = math.ceil(test_size * n_rows)
    n_train = n_rows - n_test
    if n_test < 1 or n_train < 1:
        raise BlockError(
            f"the table has {n_rows} row(s), too few to split with test_size={test_size}: "
            "both parts need at least one row",
            param="test_size",
        )
    stratify = None
    if stratify_column is not None:
        if stratify_column not in table.columns:
            raise BlockError(
                f"there is no column {stratify_column!r} to stratify on; columns are: "
                + ", ".join(repr(str(c)) for c in table.columns),
                param="stratify_column",
            )
        stratify = table[stratify_column]
        missing = int(stratify.isna().sum())
        if missing:
            raise BlockError(
                f"column {stratify_column!r} has {missing} missing value(s); cannot stratify on it",
                param="stratify_column",
            )
        counts = stratify.value_counts()
        lonely = counts[counts < 2]
        if len(lonely):
            raise BlockError(
                f"class {lonely.index[0]!r} of column {stratify_column!r} has a single row; "
                "every class needs at least two rows to stratify (or set stratify_column "
                "to none)",
                param="stratify_column",
            )
        if min(n_test, n_train) < len(counts):
            raise BlockError(
                f"column {stratify_column!r} has {len(counts)} classes but the "
                f"{'test' if n_test < n_train else 'train'} part would have only "
                f"{min(n_test, n_train)} row(s); change test_size or do not stratify",
                param="test_size",
            )
    train, test = train_test_split(table, test_size=test_size, random_state=seed, stratify=stratify)
    return train.reset_index(drop=True), test.reset_index(drop=True)
