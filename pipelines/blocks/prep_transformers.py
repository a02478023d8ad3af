"""The scikit-learn transformers behind the ``prep.*`` blocks.

They are ordinary estimators (``fit``/``transform``, ``get_params``), so they
sit inside the trained Pipeline and the deployed endpoint applies exactly what
training applied. Columns are resolved against the table at ``fit`` time, since
an estimator block never sees data; a column that is not there is a
``BlockError`` naming the block's node (``node``) and the column.

Plain Python, no Django: workers and the serving process unpickle these classes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import FunctionTransformer, Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, TargetEncoder

from .base import BlockError

DTYPES = ("number", "text", "date", "bool", "any")
DATE_PARTS = ("year", "month", "day", "dayofweek", "dayofyear", "hour")
PANDAS_PART = {"dayofweek": "day_of_week", "dayofyear": "day_of_year"}
MISSING_TEXT = "(missing)"
ID_NAME = re.compile(r"(^|[_\W])(id|uuid|guid|key)$|^id[_\W]", re.IGNORECASE)


def _frame(X: Any) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X
    raise BlockError(
        "this step picks columns by name, so it must come first in its chain or after "
        "another step that keeps the table's columns (prep.missing, prep.dates, prep.types)"
    )


def _where(node: str) -> str:
    return f"node {node!r}: " if node else ""


def _check_columns(X: pd.DataFrame, names: Sequence[str], node: str, param: str) -> None:
    absent = [c for c in names if c not in X.columns]
    if absent:
        shown = ", ".join(repr(str(c)) for c in X.columns[:30])
        raise BlockError(
            f"{_where(node)}there is no column {absent[0]!r} ({param}); columns are: {shown}",
            param=param,
        )


def kind_of(series: pd.Series) -> str:
    """number | bool | date | text: how a column is treated by dtype."""
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_numeric_dtype(series):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "date"
    return "text"


def looks_like_dates(series: pd.Series) -> bool:
    """Text where at least 90% of the non-blank values of a sample parse as dates."""
    sample = series.dropna().astype(str).head(200)
    if sample.empty or not sample.str.contains(r"\d{1,4}[-/.]\d{1,2}", regex=True).mean() > 0.9:
        return False
    parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() >= 0.9)


def looks_like_prose(series: pd.Series) -> bool:
    """Free text (most values have three or more words), not codes or categories."""
    sample = series.dropna().astype(str).head(200)
    return bool(len(sample)) and sample.str.split().str.len().median() >= 3


def as_words(X: Any) -> np.ndarray:
    """One text column as a 1-D array of strings (blanks empty), for a vectoriser."""
    column = pd.DataFrame(X).iloc[:, 0].astype(object)
    return column.where(column.notna(), "").astype(str).to_numpy()


def _folds(y: Any) -> Any:
    """Seeded folds for target encoding's cross-fitting (equal inputs, equal model)."""
    from sklearn.model_selection import KFold, StratifiedKFold
    from sklearn.utils.multiclass import type_of_target

    if type_of_target(y) in ("binary", "multiclass"):
        return StratifiedKFold(5, shuffle=True, random_state=0)
    return KFold(5, shuffle=True, random_state=0)


def as_text(X: Any) -> np.ndarray:
    """Object array of strings, blanks (None, NaN, "") as one shared category.

    Text columns (pandas' string dtypes) are filled in their own storage and
    turned into objects once; other columns go through ``str``.
    """
    frame = pd.DataFrame(X)
    out = np.empty(frame.shape, dtype=object)
    for i in range(frame.shape[1]):
        column = frame.iloc[:, i]
        if column.dtype != object and pd.api.types.is_string_dtype(column.dtype):
            column = column.fillna(MISSING_TEXT).replace("", MISSING_TEXT)
        else:
            column = column.astype(object)
            column = column.where(column.notna() & (column != ""), MISSING_TEXT).astype(str)
        out[:, i] = column.to_numpy(dtype=object)
    return out


# -- prep.columns ---------------------------------------------------------------------


class ColumnPicker:
    """A ColumnTransformer column selector: names ∪ dtype ∪ regex pattern, minus ``exclude``.

    Called with the training table; a listed name that is not a column is a
    BlockError naming ``node`` and the column.
    """

    def __init__(
        self,
        names: Sequence[str] = (),
        dtype: str = "",
        pattern: str = "",
        exclude: Sequence[str] = (),
        node: str = "",
        param: str = "columns",
    ):
        self.names = list(names)
        self.dtype = dtype
        self.pattern = pattern
        self.exclude = list(exclude)
        self.node = node
        self.param = param

    def __repr__(self) -> str:
        parts = [f"names={self.names!r}"] if self.names else []
        parts += [f"dtype={self.dtype!r}"] if self.dtype else []
        parts += [f"pattern={self.pattern!r}"] if self.pattern else []
        return f"ColumnPicker({', '.join(parts)})"

    def __call__(self, X: pd.DataFrame) -> list[str]:
        X = _frame(X)
        _check_columns(X, self.names, self.node, self.param)
        regex = re.compile(self.pattern) if self.pattern else None
        picked = []
        for column in X.columns:
            name = str(column)
            if column in self.exclude:
                continue
            if (
                column in self.names
                or (self.dtype == "any")
                or (self.dtype and kind_of(X[column]) == self.dtype)
                or (regex is not None and regex.search(name))
            ):
                picked.append(column)
        return picked


class GroupedColumns(BaseEstimator, TransformerMixin):
    """prep.columns: each group's columns go through its own chain; the rest is
    dropped or passed through. A column goes to the first group that picks it.

    ``groups`` is a list of ``(name, picker, steps)`` where ``steps`` is a list of
    ``(name, estimator)`` (empty: the columns pass through unchanged).
    """

    def __init__(self, groups: Sequence[tuple] = (), remainder: str = "drop", drop: Sequence[str] = (), node: str = ""):
        self.groups = groups
        self.remainder = remainder
        self.drop = drop
        self.node = node

    def used_columns(self, X: pd.DataFrame) -> list:
        """The input columns this step reads (model.train asks, so that the endpoint
        does not demand columns that are dropped anyway)."""
        X = _frame(X)
        _check_columns(X, list(self.drop), self.node, "drop")
        if self.remainder == "passthrough":
            return [c for c in X.columns if c not in set(self.drop)]
        picked: set = set()
        for _, picker, _ in self.groups:
            picked.update(picker(X))
        return [c for c in X.columns if c in picked and c not in set(self.drop)]

    def _present_drop(self, X: pd.DataFrame) -> list:
        # model.train may have cut the dropped columns already (used_columns).
        return [c for c in self.drop if c in X.columns]

    def fit(self, X, y=None):
        self._fit(X, y)
        return self

    def fit_transform(self, X, y=None):
        """Fit and answer the transformed table in one pass, as ColumnTransformer
        does (fit then transform would run every group's steps twice)."""
        return self._fit(X, y)

    def _fit(self, X, y):
        X = _frame(X)
        taken: set = set(self.drop)
        transformers = []
        self.plan_ = []
        for name, picker, steps in self.groups:
            columns = [c for c in picker(X) if c not in taken]
            taken.update(columns)
            chain = Pipeline([(n, clone(e)) for n, e in steps]) if steps else "passthrough"
            transformers.append((name, chain, columns))
            how = " → ".join(type(e).__name__ for _, e in steps) or "passed through"
            self.plan_.append(f"{name}: {', '.join(map(str, columns)) or '(no columns)'} → {how}")
        rest = [c for c in X.columns if c not in taken]
        if rest:
            self.plan_.append(f"remainder ({self.remainder}): {', '.join(map(str, rest))}")
        if self.drop:
            self.plan_.append(f"dropped: {', '.join(map(str, self.drop))}")
        self.transformer_ = ColumnTransformer(
            [t for t in transformers if t[2]],
            remainder="passthrough" if self.remainder == "passthrough" else "drop",
            sparse_threshold=0,
        )
        # `drop` columns never reach a group nor the remainder.
        transformed = self.transformer_.fit_transform(X.drop(columns=self._present_drop(X)), y)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        return transformed

    def transform(self, X):
        X = _frame(X)
        return self.transformer_.transform(X.drop(columns=self._present_drop(X)))

    def get_feature_names_out(self, input_features=None):
        return self.transformer_.get_feature_names_out()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # decided by the groups' own steps
        return tags


# -- prep.auto ------------------------------------------------------------------------


class AutoPrep(BaseEstimator, TransformerMixin):
    """prep.auto: every column encoded by what it holds (decided at fit, see ``plan_``).

    - id-like columns (an id-ish name with mostly distinct values, or text that is
      distinct on nearly every row) and constant columns: dropped;
    - numbers and booleans: median imputation, plus a missing indicator for
      columns that had blanks;
    - dates (datetime dtype, or text that parses as dates): year, month, day,
      day of week (and hour when times are present); blanks imputed;
    - text with at most ``max_categories`` distinct values: one-hot, unknown
      categories ignored, blanks one category;
    - free text (mostly three or more words): TF-IDF of its 100 most frequent words;
    - other text: target encoding (one number per class, cross-fitted).
    """

    def __init__(self, max_categories: int = 30, drop_ids: bool = True, missing_indicator: bool = True, node: str = ""):
        self.max_categories = max_categories
        self.drop_ids = drop_ids
        self.missing_indicator = missing_indicator
        self.node = node

    def _classify(self, X: pd.DataFrame) -> dict[Any, str]:
        """Each column's plan; the distinct and missing counts behind it are kept
        in ``_counts`` for the fitted plan's description."""
        n = len(X)
        plan = {}
        self._counts = {}
        for column in X.columns:
            series = X[column]
            kind = kind_of(series)
            distinct = series.nunique(dropna=True)
            self._counts[column] = (int(distinct), int(series.isna().sum()))
            if distinct <= 1:
                plan[column] = "drop:constant"
            elif kind in ("number", "bool"):
                is_id = (
                    self.drop_ids
                    and ID_NAME.search(str(column)) is not None
                    and pd.api.types.is_integer_dtype(series)
                    and distinct >= 0.9 * n
                )
                plan[column] = "drop:id" if is_id else "number"
            elif kind == "date" or looks_like_dates(series):
                plan[column] = "date"
            elif looks_like_prose(series):
                plan[column] = "words"
            elif self.drop_ids and distinct >= 0.95 * series.notna().sum() and n >= 20:
                plan[column] = "drop:id"
            elif self.drop_ids and ID_NAME.search(str(column)) and distinct >= 0.9 * n:
                plan[column] = "drop:id"
            elif distinct <= self.max_categories:
                plan[column] = "onehot"
            else:
                plan[column] = "target"
        return plan

    def used_columns(self, X: pd.DataFrame) -> list:
        """The input columns that are not dropped (ids, constants).

        The plan is kept until the next ``fit`` of this instance, which then
        does not classify the same rows again when given these columns (or
        fewer: model.train fits on the used ones).
        """
        X = _frame(X)
        kinds = self._classify(X)
        self._classified = (len(X), kinds, self._counts)
        return [c for c, kind in kinds.items() if not kind.startswith("drop:")]

    def _kinds(self, X: pd.DataFrame) -> dict[Any, str]:
        classified = self.__dict__.pop("_classified", None)
        if classified is not None:
            rows, kinds, counts = classified
            if rows == len(X) and all(c in kinds for c in X.columns):
                self._counts = {c: counts[c] for c in X.columns}
                return {c: kinds[c] for c in X.columns}
        return self._classify(X)

    def fit(self, X, y=None):
        self._fit(X, y)
        return self

    def fit_transform(self, X, y=None):
        """Fit and answer the transformed table in one pass (fit then transform
        would transform twice; target encoding answers its cross-fitted values, as documented)."""
        return self._fit(X, y)

    def _fit(self, X, y):
        X = _frame(X)
        kinds = self._kinds(X)
        by = {k: [c for c, v in kinds.items() if v == k] for k in ("number", "date", "onehot", "target")}
        transformers = []
        if by["number"]:
            transformers.append(
                ("number", SimpleImputer(strategy="median", add_indicator=self.missing_indicator), by["number"])
            )
        if by["date"]:
            transformers.append(
                ("date", make_pipeline(DateParts(columns=by["date"], node=self.node), SimpleImputer(strategy="median")), by["date"])
            )
        if by["onehot"]:
            transformers.append(
                (
                    "onehot",
                    make_pipeline(
                        FunctionTransformer(as_text, feature_names_out="one-to-one"),
                        OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                    ),
                    by["onehot"],
                )
            )
        if by["target"]:
            if y is None:
                raise BlockError(f"{_where(self.node)}encoding many-valued text columns needs the target")
            transformers.append(
                (
                    "target",
                    make_pipeline(
                        FunctionTransformer(as_text, feature_names_out="one-to-one"),
                        TargetEncoder(cv=_folds(y)),
                    ),
                    by["target"],
                )
            )
        for column in [c for c, v in kinds.items() if v == "words"]:
            from sklearn.feature_extraction.text import TfidfVectorizer

            transformers.append(
                (
                    f"words_{column}",
                    make_pipeline(FunctionTransformer(as_words), TfidfVectorizer(max_features=100)),
                    [column],
                )
            )
        if not transformers:
            raise BlockError(f"{_where(self.node)}no column is left to use as a feature (all are ids or constant)")
        self.transformer_ = ColumnTransformer(transformers, remainder="drop", sparse_threshold=0)
        transformed = self.transformer_.fit_transform(X, y)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        self.plan_ = self._describe(kinds)
        del self._counts
        return transformed

    def _describe(self, kinds: dict[Any, str]) -> list[dict[str, Any]]:
        words = {
            "number": "number: median imputation" + (" + missing indicator" if self.missing_indicator else ""),
            "date": "date: year, month, day, day of week",
            "onehot": "text: one-hot (unknown categories ignored)",
            "target": "text with many values: target encoding",
            "words": "free text: TF-IDF of the 100 most frequent words",
            "drop:id": "dropped: looks like an id",
            "drop:constant": "dropped: a single value",
        }
        return [
            {"column": str(c), "plan": words[kind], "distinct": self._counts[c][0], "missing": self._counts[c][1]}
            for c, kind in kinds.items()
        ]

    def transform(self, X):
        return self.transformer_.transform(_frame(X))

    def get_feature_names_out(self, input_features=None):
        return self.transformer_.get_feature_names_out()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        return tags


# -- table-keeping steps (DataFrame in, DataFrame out) ---------------------------------


class _FrameStep(BaseEstimator, TransformerMixin):
    """A step that keeps a table a table, so column-picking steps may follow it."""

    def _columns(self, X: pd.DataFrame, names: Sequence[str], param: str = "columns") -> list:
        _check_columns(X, names, getattr(self, "node", ""), param)
        return list(names)

    def get_feature_names_out(self, input_features=None):
        return np.asarray(self.feature_names_out_, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        return tags


class MissingValues(_FrameStep):
    """prep.missing: fill blanks per column; optionally add ``<column>_missing`` 0/1 columns.

    ``strategy`` applies to every column with blanks at fit (numbers: mean|median|
    most_frequent|constant; text always most_frequent unless constant);
    ``per_column`` overrides it ({column: strategy}). ``fill_value`` is used by
    ``constant``.
    """

    def __init__(self, strategy: str = "median", per_column: dict | None = None, fill_value: Any = 0, add_indicator: bool = True, node: str = ""):
        self.strategy = strategy
        self.per_column = per_column
        self.fill_value = fill_value
        self.add_indicator = add_indicator
        self.node = node

    def fit(self, X, y=None):
        X = _frame(X)
        overrides = dict(self.per_column or {})
        self._columns(X, list(overrides), "per_column")
        self.fill_ = {}
        for column in X.columns:
            strategy = overrides.get(column, self.strategy)
            series = X[column]
            if column not in overrides and not series.isna().any():
                continue
            numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
            if strategy == "constant":
                value = self.fill_value if numeric else str(self.fill_value)
            elif numeric and strategy in ("mean", "median"):
                value = float(getattr(series, strategy)())
            else:
                mode = series.mode(dropna=True)
                value = mode.iloc[0] if len(mode) else (0 if numeric else MISSING_TEXT)
            if isinstance(value, float) and np.isnan(value):
                value = 0.0
            self.fill_[column] = value.item() if hasattr(value, "item") else value
        self.indicators_ = [c for c in self.fill_ if X[c].isna().any()] if self.add_indicator else []
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.feature_names_out_ = [*map(str, X.columns), *(f"{c}_missing" for c in self.indicators_)]
        return self

    def transform(self, X):
        X = _frame(X)
        out = X.copy()
        for column, value in self.fill_.items():
            blank = out[column].isna() | (out[column].astype(object) == "")
            out[column] = out[column].where(~blank, value)
            if pd.api.types.is_numeric_dtype(X[column]) or isinstance(value, int | float):
                out[column] = pd.to_numeric(out[column], errors="coerce")
        for column in self.indicators_:
            out[f"{column}_missing"] = X[column].isna().to_numpy().astype(np.float64)
        return out


class DateParts(_FrameStep):
    """prep.dates: replace date columns with numeric parts (``<column>_year`` …).

    ``columns`` empty: every datetime column and every text column that parses
    as dates. ``format``: a strptime format for text dates (else inferred).
    """

    def __init__(self, columns: Sequence[str] = (), parts: Sequence[str] = ("year", "month", "day", "dayofweek"), format: str = "", node: str = ""):
        self.columns = columns
        self.parts = parts
        self.format = format
        self.node = node

    def fit(self, X, y=None):
        X = _frame(X)
        if self.columns:
            self.columns_ = self._columns(X, self.columns)
        else:
            self.columns_ = [c for c in X.columns if kind_of(X[c]) == "date" or (kind_of(X[c]) == "text" and looks_like_dates(X[c]))]
        unknown = [p for p in self.parts if p not in DATE_PARTS]
        if unknown:
            raise BlockError(f"{_where(self.node)}unknown date part {unknown[0]!r}; parts are: {', '.join(DATE_PARTS)}", param="parts")
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.feature_names_out_ = list(map(str, self.transform(X.head(1)).columns))
        return self

    def transform(self, X):
        X = _frame(X)
        out = X.drop(columns=self.columns_)
        for column in self.columns_:
            values = X[column]
            if not pd.api.types.is_datetime64_any_dtype(values):
                values = pd.to_datetime(values.astype(object), errors="coerce", format=self.format or "mixed")
            for part in self.parts:
                out[f"{column}_{part}"] = getattr(values.dt, PANDAS_PART.get(part, part)).astype(np.float64)
        return out


class TextTfidf(_FrameStep):
    """prep.text: a text column → TF-IDF columns; the other columns kept (or dropped)."""

    def __init__(self, column: str = "", max_features: int = 500, ngram_max: int = 1, keep_other: bool = True, node: str = ""):
        self.column = column
        self.max_features = max_features
        self.ngram_max = ngram_max
        self.keep_other = keep_other
        self.node = node

    def fit(self, X, y=None):
        from sklearn.feature_extraction.text import TfidfVectorizer

        X = _frame(X)
        self._columns(X, [self.column], "column")
        self.vectorizer_ = TfidfVectorizer(max_features=self.max_features, ngram_range=(1, self.ngram_max))
        self.vectorizer_.fit(X[self.column].fillna("").astype(str))
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        words = [f"{self.column}_{w}" for w in self.vectorizer_.get_feature_names_out()]
        others = [str(c) for c in X.columns if c != self.column] if self.keep_other else []
        self.feature_names_out_ = [*others, *words]
        return self

    def transform(self, X):
        X = _frame(X)
        tfidf = self.vectorizer_.transform(X[self.column].fillna("").astype(str)).toarray()
        words = pd.DataFrame(tfidf, columns=self.feature_names_out_[len(self.feature_names_out_) - tfidf.shape[1]:], index=X.index)
        if not self.keep_other:
            return words
        return pd.concat([X.drop(columns=[self.column]), words], axis=1)


class ParseTypes(_FrameStep):
    """prep.types: text written for people → numbers and dates.

    ``decimal_comma``: columns like "1.234,5" (thousands '.' or ' ', decimal ',');
    ``numbers``: columns like "1,234.5" (thousands ',') or with units stripped of
    anything but digits, sign and point; ``dates``: columns parsed with
    ``date_format`` (inferred when empty). Unparseable values become blanks.
    """

    def __init__(self, decimal_comma: Sequence[str] = (), numbers: Sequence[str] = (), dates: Sequence[str] = (), date_format: str = "", node: str = ""):
        self.decimal_comma = decimal_comma
        self.numbers = numbers
        self.dates = dates
        self.date_format = date_format
        self.node = node

    def fit(self, X, y=None):
        X = _frame(X)
        self._columns(X, self.decimal_comma, "decimal_comma")
        self._columns(X, self.numbers, "numbers")
        self._columns(X, self.dates, "dates")
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.feature_names_out_ = list(map(str, X.columns))
        return self

    def transform(self, X):
        X = _frame(X)
        out = X.copy()
        for column in self.decimal_comma:
            text = out[column].astype(object).where(out[column].notna(), None).astype("string")
            text = text.str.replace(r"[\s.\u00a0']", "", regex=True).str.replace(",", ".", regex=False)
            out[column] = pd.to_numeric(text, errors="coerce").astype(np.float64)
        for column in self.numbers:
            text = out[column].astype(object).where(out[column].notna(), None).astype("string")
            text = text.str.replace(r"[^0-9eE+\-.]", "", regex=True)
            out[column] = pd.to_numeric(text, errors="coerce").astype(np.float64)
        for column in self.dates:
            out[column] = pd.to_datetime(out[column].astype(object), errors="coerce", format=self.date_format or "mixed")
        return out


def plan_lines(model: Any) -> list[str]:
    """What the prep steps of a fitted Pipeline decided, one line per column or group."""
    lines = []
    for name, step in getattr(model, "steps", []):
        plan = getattr(step, "plan_", None)
        if not plan:
            continue
        for entry in plan:
            text = f"{entry['column']}: {entry['plan']}" if isinstance(entry, dict) else str(entry)
            lines.append(f"{name} · {text}")
    return lines
