"""Bias in data and in predictions (the work behind ``rai.dataset_bias`` and ``rai.fairness``).

Point estimates of prediction fairness come from fairlearn's ``MetricFrame``
and its ``demographic_parity_*`` / ``equalized_odds_difference`` functions, so
the numbers are fairlearn's own. Bootstrap confidence intervals are computed
here, vectorised: every metric of a binary classifier is a function of the
per-group confusion counts, and resampling rows with replacement is the same
as drawing those counts from a multinomial over the (group, label,
prediction) cells, so 200 resamples are one ``rng.multinomial`` call instead
of 200 MetricFrames. Regression (MAE by group) resamples row indices in chunks
and sums errors per group with ``np.bincount``.

A label with more than two classes is judged one class against the rest
("is it k?"): per class, the same metrics by group and parity numbers
(fairlearn's, on ``y == k``), kept under ``by_class``. The contract fields are
then the worst over the classes — the largest ``demographic_parity_difference``
and ``equalized_odds_difference``, the smallest ``demographic_parity_ratio``
(``worst_class`` names the class each comes from) — so a gate or a card reading
them judges the class treated least alike. ``by_group`` holds each group's row
count and (multiclass) accuracy. The bootstrap draws (group, true class,
predicted class) cells, so one resample gives every class's numbers at once.

Plain Python, no Django. Every number in a report is a plain float or None
(undefined: a group without positives has no TPR).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import is_classifier, is_regressor

from .base import BlockError
from .charts import _tooltip, base_spec, records
from .training import model_features, model_target, split_target

SMALL_GROUP = 100
CLASSIFICATION_METRICS = (
    "accuracy",
    "selection_rate",
    "true_positive_rate",
    "false_positive_rate",
    "precision",
)
PROXY_SAMPLE = 20_000
# Regression bootstrap: indices drawn this many values at a time (bounded memory).
CHUNK_VALUES = 4_000_000


def _float(value: Any) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if np.isfinite(value) else None


def _key(value: Any) -> str:
    """A group value as a JSON object key: ``1`` not ``1.0``, text as is."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, np.generic):
        return str(value.item())
    return str(value)


def _check_column(table: pd.DataFrame, column: Any, param: str) -> None:
    if not isinstance(column, str) or not column:
        raise BlockError("choose the sensitive column", param=param)
    if column not in table.columns:
        shown = ", ".join(repr(str(c)) for c in table.columns[:20])
        raise BlockError(f"there is no column {column!r}; columns are: {shown}", param=param)


def _groups(series: pd.Series, param: str) -> tuple[np.ndarray, list[str]]:
    """Integer codes per row and the group names; missing values form their own group."""
    codes, uniques = pd.factorize(series, sort=True, use_na_sentinel=False)
    names = [
        _key(u) if not (isinstance(u, float) and np.isnan(u)) else "(missing)" for u in uniques
    ]
    if len(names) < 2:
        raise BlockError(
            f"column {series.name!r} has a single value ({names[0] if names else 'none'}): "
            "there are no groups to compare",
            param=param,
        )
    return codes.astype(np.int64), names


def _interval(draws: np.ndarray, confidence: float) -> list[float | None]:
    """``[low, high]`` percentile interval of ``draws`` (NaNs ignored; all-NaN: Nones)."""
    tail = (1 - confidence) / 2
    finite = draws[np.isfinite(draws)]
    if finite.size == 0:
        return [None, None]
    low, high = np.quantile(finite, [tail, 1 - tail])
    return [_float(low), _float(high)]


def _spread(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """max − min and min / max over the last axis, ignoring NaN (undefined groups)."""
    with np.errstate(invalid="ignore", divide="ignore"), _quiet():
        high = np.nanmax(values, axis=-1)
        low = np.nanmin(values, axis=-1)
        return high - low, np.where(high > 0, low / high, np.nan)


class _quiet:
    """Silence "All-NaN slice" warnings: an undefined rate is expected, not a problem."""

    def __enter__(self) -> None:
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc: Any) -> None:
        self._catch.__exit__(*exc)


def _warnings_for(names: list[str], counts: np.ndarray, column: str) -> list[str]:
    return [
        f"group {name!r} of {column!r} has {int(n)} row(s), fewer than {SMALL_GROUP}: its rates are uncertain"
        for name, n in zip(names, counts, strict=True)
        if n < SMALL_GROUP
    ]


# --- bias in the data -----------------------------------------------------------------------


def _label_values(y: pd.Series) -> tuple[np.ndarray, str, Any]:
    """What "label rate" means for ``y``: (per-row 0/1 or numbers, description, positive label).

    Two classes: the share of the larger (sorted) label. Numbers with more
    than two values: the mean. Other labels: the share of the most frequent one.
    """
    present = pd.unique(y.dropna())
    if len(present) == 2:
        positive = sorted(present, key=lambda v: (str(type(v)), v))[1]
        return (y == positive).to_numpy(dtype=float), f"share of {_key(positive)!s}", positive
    if pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y):
        return y.to_numpy(dtype=float), "mean", None
    positive = y.value_counts().index[0]
    return (y == positive).to_numpy(dtype=float), f"share of {_key(positive)!s}", positive


def _group_means_bootstrap(
    values: np.ndarray, codes: np.ndarray, n_groups: int, resamples: int, rng: np.random.Generator
) -> np.ndarray:
    """(resamples, n_groups) group means of ``values`` over row resamples (chunked, bincount)."""
    n = len(values)
    out = np.empty((resamples, n_groups))
    per_chunk = max(1, CHUNK_VALUES // max(n, 1))
    for start in range(0, resamples, per_chunk):
        stop = min(resamples, start + per_chunk)
        idx = rng.integers(0, n, size=(stop - start, n))
        offsets = (np.arange(stop - start)[:, None] * n_groups + codes[idx]).ravel()
        sums = np.bincount(
            offsets, weights=values[idx].ravel(), minlength=(stop - start) * n_groups
        )
        counts = np.bincount(offsets, minlength=(stop - start) * n_groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start:stop] = (sums / counts).reshape(stop - start, n_groups)
    return out


def _proxies(
    table: pd.DataFrame, column: str, label: str, top: int, seed: int
) -> list[dict[str, Any]]:
    """The columns sharing the most information with ``column`` (mutual information, in nats)."""
    from sklearn.feature_selection import mutual_info_classif, mutual_info_regression

    others = [c for c in table.columns if c not in (column, label)]
    if not others:
        return []
    frame = table[[*others, column]].dropna(subset=[column])
    if len(frame) > PROXY_SAMPLE:
        frame = frame.sample(n=PROXY_SAMPLE, random_state=seed)
    if len(frame) < 4:
        return []
    encoded, discrete = {}, []
    for c in others:
        series = frame[c]
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            encoded[c] = series.fillna(series.median() if series.notna().any() else 0).to_numpy(
                dtype=float
            )
            discrete.append(False)
        else:
            encoded[c] = pd.factorize(series, use_na_sentinel=False)[0].astype(float)
            discrete.append(True)
    x = np.column_stack([encoded[c] for c in others])
    target = frame[column]
    sensitive_is_numeric = pd.api.types.is_numeric_dtype(target) and not pd.api.types.is_bool_dtype(
        target
    )
    if sensitive_is_numeric and target.nunique() > 20:
        scores = mutual_info_regression(
            x, target.to_numpy(dtype=float), discrete_features=discrete, random_state=seed
        )
    else:
        codes = pd.factorize(target)[0]
        scores = mutual_info_classif(x, codes, discrete_features=discrete, random_state=seed)
    ranked = sorted(zip(others, scores, strict=True), key=lambda p: -p[1])[:top]
    return [{"feature": str(c), "mutual_information": round(float(s), 6)} for c, s in ranked]


def _one_column_bias(
    table: pd.DataFrame,
    column: str,
    label: str,
    *,
    values: np.ndarray,
    resamples: int,
    confidence: float,
    top_proxies: int,
    seed: int,
) -> dict[str, Any]:
    codes, names = _groups(table[column], "sensitive_columns")
    n_groups = len(names)
    counts = np.bincount(codes, minlength=n_groups)
    sums = np.bincount(codes, weights=values, minlength=n_groups)
    rates = sums / counts
    by_group: dict[str, dict[str, Any]] = {}
    missing = table.drop(columns=[column]).isna()
    missing_by_group = missing.groupby(codes).mean()
    for i, name in enumerate(names):
        by_group[name] = {
            "count": int(counts[i]),
            "share": _float(counts[i] / len(table)),
            "label_rate": _float(rates[i]),
        }
    difference, ratio = _spread(rates)
    report: dict[str, Any] = {
        "column": column,
        "by_group": by_group,
        "label_rate_difference": _float(difference),
        "label_rate_ratio": _float(ratio),
        "highest_group": names[int(np.nanargmax(rates))],
        "lowest_group": names[int(np.nanargmin(rates))],
        "warnings": _warnings_for(names, counts, column),
        "missing_by_group": {
            str(c): {names[int(g)]: _float(v) for g, v in missing_by_group[c].items()}
            for c in missing.columns
            if missing[c].any()
        },
        "proxies": _proxies(table, column, label, top_proxies, seed),
    }
    if resamples:
        draws = _group_means_bootstrap(
            values, codes, n_groups, resamples, np.random.default_rng(seed)
        )
        diff_draws, ratio_draws = _spread(draws)
        for i, name in enumerate(names):
            by_group[name]["label_rate_ci"] = _interval(draws[:, i], confidence)
        report["ci"] = {
            "label_rate_difference": _interval(diff_draws, confidence),
            "label_rate_ratio": _interval(ratio_draws, confidence),
        }
    return report


def dataset_bias(
    table: pd.DataFrame,
    sensitive_columns: Sequence[str],
    label: str,
    *,
    resamples: int = 200,
    confidence: float = 0.95,
    top_proxies: int = 5,
    seed: int = 0,
) -> dict[str, Any]:
    """Group sizes and label rates per sensitive column, their differences, small-group
    warnings, missingness by group and proxy columns.

    ``by_group`` and ``label_rate_difference`` at the top are the first sensitive
    column's; ``columns`` holds the report of each.
    """
    if not sensitive_columns:
        raise BlockError("choose at least one sensitive column", param="sensitive_columns")
    for column in sensitive_columns:
        _check_column(table, column, "sensitive_columns")
    if label in sensitive_columns:
        raise BlockError(f"the label {label!r} cannot also be a sensitive column", param="label")
    _, y = split_target(table, label)
    if len(table) == 0:
        raise BlockError("the table has no rows")
    if y.isna().any():
        table = table[y.notna()]
        y = y[y.notna()]
    values, meaning, positive = _label_values(y)
    columns = {
        c: _one_column_bias(
            table, c, label, values=values, resamples=resamples, confidence=confidence,
            top_proxies=top_proxies, seed=seed,
        )
        for c in sensitive_columns
    }  # fmt: skip
    first = columns[sensitive_columns[0]]
    report = {
        "label": label,
        "label_rate_means": meaning,
        "positive_label": None if positive is None else _key(positive),
        "rows": int(len(table)),
        "sensitive_columns": list(sensitive_columns),
        "confidence": confidence,
        "resamples": resamples,
        "by_group": first["by_group"],
        "label_rate_difference": first["label_rate_difference"],
        "label_rate_ratio": first["label_rate_ratio"],
        **({"ci": first["ci"]} if "ci" in first else {}),
        "warnings": [w for c in columns.values() for w in c["warnings"]],
        "columns": columns,
    }
    report["charts"] = [
        _rate_chart(c, "label_rate", f"Label rate ({meaning}) by {name}")
        for name, c in columns.items()
    ]
    report["charts"] += [_proxy_chart(c) for c in columns.values() if c["proxies"]]
    return report


# --- bias in predictions --------------------------------------------------------------------


def _model_classes(model: Any, y: pd.Series) -> list[Any]:
    """The model's classes, then any label of ``y`` it never saw (it is never predicted)."""
    classes = list(getattr(model, "classes_", []))
    if len(classes) < 2:
        raise BlockError(
            f"rai.fairness compares decisions between classes; this model has {len(classes)} class(es)"
        )
    known = pd.Index(classes)
    return classes + [v for v in pd.unique(y) if v not in known]


def _confusion_metrics(cells: np.ndarray) -> dict[str, np.ndarray]:
    """The five classification metrics from counts shaped (..., groups, 2 labels, 2 predictions)."""
    tn, fp, fn, tp = cells[..., 0, 0], cells[..., 0, 1], cells[..., 1, 0], cells[..., 1, 1]
    total = tn + fp + fn + tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "accuracy": (tp + tn) / total,
            "selection_rate": (tp + fp) / total,
            "true_positive_rate": tp / (tp + fn),
            "false_positive_rate": fp / (fp + tn),
            "precision": tp / (tp + fp),
        }


def _aggregates(metrics: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    dp_difference, dp_ratio = _spread(metrics["selection_rate"])
    tpr_difference, _ = _spread(metrics["true_positive_rate"])
    fpr_difference, _ = _spread(metrics["false_positive_rate"])
    return {
        "demographic_parity_difference": dp_difference,
        "demographic_parity_ratio": dp_ratio,
        "equalized_odds_difference": np.fmax(tpr_difference, fpr_difference),
    }


def classification_fairness(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    sensitive: pd.Series,
    *,
    resamples: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """MetricFrame by group plus the parity numbers (fairlearn's), with bootstrap intervals.

    ``y_true`` and ``y_pred`` are 0/1 (1: the positive class).
    """
    from fairlearn.metrics import (
        MetricFrame,
        demographic_parity_difference,
        demographic_parity_ratio,
        equalized_odds_difference,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )
    from sklearn.metrics import accuracy_score, precision_score

    codes, names = _groups(sensitive, "sensitive_column")
    groups = np.asarray(names, dtype=object)[codes]
    frame = MetricFrame(
        metrics={
            "accuracy": accuracy_score,
            "selection_rate": selection_rate,
            "true_positive_rate": true_positive_rate,
            "false_positive_rate": false_positive_rate,
            "precision": lambda t, p: precision_score(t, p, zero_division=0),
        },
        y_true=y_true,
        y_pred=y_pred,
        sensitive_features=groups,
    )
    by_group_frame = frame.by_group
    counts = np.bincount(codes, minlength=len(names))
    by_group = {
        name: {
            "count": int(counts[i]),
            **{m: _float(by_group_frame.loc[name, m]) for m in CLASSIFICATION_METRICS},
        }
        for i, name in enumerate(names)
    }
    report: dict[str, Any] = {
        "task": "classification",
        "overall": {m: _float(frame.overall[m]) for m in CLASSIFICATION_METRICS},
        "by_group": by_group,
        "demographic_parity_difference": _float(
            demographic_parity_difference(y_true, y_pred, sensitive_features=groups)
        ),
        "demographic_parity_ratio": _float(
            demographic_parity_ratio(y_true, y_pred, sensitive_features=groups)
        ),
        "equalized_odds_difference": _float(
            equalized_odds_difference(y_true, y_pred, sensitive_features=groups)
        ),
    }
    if resamples:
        cells = np.bincount(
            codes * 4 + 2 * y_true.astype(np.int64) + y_pred.astype(np.int64),
            minlength=4 * len(names),
        )
        rng = np.random.default_rng(seed)
        draws = rng.multinomial(len(codes), cells / cells.sum(), size=resamples).reshape(
            resamples, len(names), 2, 2
        )
        metrics = _confusion_metrics(draws)
        for i, name in enumerate(names):
            by_group[name]["ci"] = {
                m: _interval(metrics[m][:, i], confidence) for m in CLASSIFICATION_METRICS
            }
        report["ci"] = {k: _interval(v, confidence) for k, v in _aggregates(metrics).items()}
    return report


def _one_vs_rest(cells: np.ndarray) -> np.ndarray:
    """Counts shaped (..., groups, K true, K predicted) as each class against the rest:
    (..., K, groups, 2 labels, 2 predictions), ready for ``_confusion_metrics``."""
    tp = np.diagonal(cells, axis1=-2, axis2=-1)
    truly = cells.sum(axis=-1)  # rows of class k, by group
    predicted = cells.sum(axis=-2)  # rows predicted as k, by group
    total = cells.sum(axis=(-2, -1))[..., None]
    fn, fp = truly - tp, predicted - tp
    tn = total - truly - fp
    confusion = np.stack([np.stack([tn, fp], axis=-1), np.stack([fn, tp], axis=-1)], axis=-2)
    return np.moveaxis(confusion, -3, -4)


# Worst over classes: the widest gap, the smallest ratio.
WORST = {
    "demographic_parity_difference": max,
    "demographic_parity_ratio": min,
    "equalized_odds_difference": max,
}


def _worst_draws(per_class: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """(resamples,) worst over classes of (resamples, K) aggregates (undefined classes skipped)."""
    with _quiet():
        return {
            name: (np.nanmax if pick is max else np.nanmin)(per_class[name], axis=-1)
            for name, pick in WORST.items()
        }


def multiclass_fairness(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    classes: list[str],
    sensitive: pd.Series,
    *,
    resamples: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """Each class against the rest (fairlearn's numbers on ``y == k``, under ``by_class``),
    the contract's parity numbers as the worst over classes, accuracy by group.

    ``y_true`` and ``y_pred`` are class indices into ``classes`` (the names shown).
    """
    from fairlearn.metrics import MetricFrame
    from sklearn.metrics import accuracy_score

    codes, names = _groups(sensitive, "sensitive_column")
    by_class = {}
    for k, label in enumerate(classes):
        binary = classification_fairness(
            (y_true == k).astype(np.int64), (y_pred == k).astype(np.int64), sensitive, resamples=0
        )
        by_class[label] = {
            "overall": binary["overall"],
            "by_group": binary["by_group"],
            **{name: binary[name] for name in WORST},
        }
    worst_class = {}
    for name, pick in WORST.items():
        defined = [(c[name], label) for label, c in by_class.items() if c[name] is not None]
        worst_class[name] = pick(defined)[1] if defined else None
    frame = MetricFrame(
        metrics={"accuracy": accuracy_score},
        y_true=y_true,
        y_pred=y_pred,
        sensitive_features=np.asarray(names, dtype=object)[codes],
    )
    counts = np.bincount(codes, minlength=len(names))
    by_group = {
        name: {"count": int(counts[i]), "accuracy": _float(frame.by_group.loc[name, "accuracy"])}
        for i, name in enumerate(names)
    }
    report: dict[str, Any] = {
        "task": "classification",
        "classes": list(classes),
        "overall": {"accuracy": _float(frame.overall["accuracy"])},
        "by_group": by_group,
        **{
            name: None if label is None else by_class[label][name]
            for name, label in worst_class.items()
        },
        "worst_class": worst_class,
        "note": _worst_note(classes, worst_class),
        "by_class": by_class,
    }
    if resamples:
        _multiclass_intervals(
            report, codes, y_true, y_pred, resamples=resamples, confidence=confidence, seed=seed
        )
    return report


def _worst_note(classes: list[str], worst_class: dict[str, str | None]) -> str:
    """How to read a multiclass report's parity numbers, for the report page and the card."""
    where = ", ".join(
        f"{name.replace('_', ' ')} from class {label!r}"
        for name, label in worst_class.items()
        if label is not None
    )
    return (
        f"{len(classes)} classes, each judged against the rest; the parity numbers are the worst "
        f"over the classes (largest differences, smallest ratio): {where or 'none defined'}. "
        "by_class has each class's numbers."
    )


def _multiclass_intervals(
    report: dict[str, Any],
    codes: np.ndarray,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    *,
    resamples: int,
    confidence: float,
    seed: int,
) -> None:
    """Bootstrap intervals of every number of a multiclass report, from one multinomial draw
    of the (group, true class, predicted class) counts per resample."""
    groups, classes = list(report["by_group"]), report["classes"]
    g, k = len(groups), len(classes)
    cells = np.bincount(codes * k * k + y_true * k + y_pred, minlength=g * k * k)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(len(codes), cells / cells.sum(), size=resamples).reshape(
        resamples, g, k, k
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.trace(draws, axis1=-2, axis2=-1) / draws.sum(axis=(-2, -1))
    for i, group in enumerate(groups):
        report["by_group"][group]["ci"] = {"accuracy": _interval(accuracy[:, i], confidence)}
    metrics = _confusion_metrics(_one_vs_rest(draws))  # each (resamples, K, groups)
    per_class = _aggregates(metrics)  # each (resamples, K)
    for c, label in enumerate(classes):
        entry = report["by_class"][label]
        for i, group in enumerate(groups):
            entry["by_group"][group]["ci"] = {
                m: _interval(metrics[m][:, c, i], confidence) for m in CLASSIFICATION_METRICS
            }
        entry["ci"] = {name: _interval(v[:, c], confidence) for name, v in per_class.items()}
    report["ci"] = {name: _interval(v, confidence) for name, v in _worst_draws(per_class).items()}


def regression_fairness(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    sensitive: pd.Series,
    *,
    resamples: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """MAE by group (MetricFrame) and its spread between groups, with bootstrap intervals.

    Demographic parity and equalized odds are defined for decisions, so they are None here.
    """
    from fairlearn.metrics import MetricFrame
    from sklearn.metrics import mean_absolute_error

    codes, names = _groups(sensitive, "sensitive_column")
    groups = np.asarray(names, dtype=object)[codes]
    frame = MetricFrame(
        metrics={"mae": mean_absolute_error},
        y_true=y_true,
        y_pred=y_pred,
        sensitive_features=groups,
    )
    counts = np.bincount(codes, minlength=len(names))
    by_group = {
        name: {"count": int(counts[i]), "mae": _float(frame.by_group.loc[name, "mae"])}
        for i, name in enumerate(names)
    }
    difference, ratio = _spread(np.array([by_group[n]["mae"] for n in names], dtype=float))
    report: dict[str, Any] = {
        "task": "regression",
        "overall": {"mae": _float(frame.overall["mae"])},
        "by_group": by_group,
        "mae_difference": _float(difference),
        "mae_ratio": _float(ratio),
        "demographic_parity_difference": None,
        "demographic_parity_ratio": None,
        "equalized_odds_difference": None,
    }
    if resamples:
        errors = np.abs(np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float))
        draws = _group_means_bootstrap(
            errors, codes, len(names), resamples, np.random.default_rng(seed)
        )
        for i, name in enumerate(names):
            by_group[name]["ci"] = {"mae": _interval(draws[:, i], confidence)}
        diff_draws, _ = _spread(draws)
        report["ci"] = {"mae_difference": _interval(diff_draws, confidence)}
    return report


def _classifier_fairness(
    model: Any, y: pd.Series, predicted: np.ndarray, sensitive: pd.Series, common: dict[str, Any]
) -> dict[str, Any]:
    """Two classes: the positive one (the second) against the other. More: each against the rest."""
    classes = _model_classes(model, y)
    if len(classes) > 2:
        index = pd.Index(classes)
        return multiclass_fairness(
            index.get_indexer(y).astype(np.int64),
            index.get_indexer(predicted).astype(np.int64),
            [_key(c) for c in classes],
            sensitive,
            **common,
        )
    positive = classes[1]
    report = classification_fairness(
        (y == positive).to_numpy(dtype=np.int64),
        (predicted == positive).astype(np.int64),
        sensitive,
        **common,
    )
    report["positive_label"] = _key(positive)
    return report


def fairness_report(
    model: Any,
    table: pd.DataFrame,
    sensitive_column: str,
    *,
    target: str | None = None,
    resamples: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """How the model's predictions on ``table`` differ between the groups of ``sensitive_column``.

    The sensitive column is read from the table, so it may be one the model was
    trained without (``model.train``'s ``exclude``).
    """
    _check_column(table, sensitive_column, "sensitive_column")
    label = model_target(model, target)
    _, y = split_target(table, label)
    if len(table) == 0:
        raise BlockError("the table has no rows to evaluate on")
    if y.isna().any():
        raise BlockError(
            f"target column {label!r} has missing values; drop those rows first", param="target"
        )
    features = model_features(model, table)
    final = model[-1] if hasattr(model, "steps") else model
    predicted = model.predict(features)
    common = {"resamples": resamples, "confidence": confidence, "seed": seed}
    sensitive = table[sensitive_column].reset_index(drop=True)
    if is_classifier(final):
        report = _classifier_fairness(model, y, np.asarray(predicted), sensitive, common)
        metrics = ("selection_rate", "true_positive_rate", "false_positive_rate")
    elif is_regressor(final):
        report = regression_fairness(
            y.to_numpy(dtype=float), np.asarray(predicted, dtype=float), sensitive, **common
        )
        metrics = ("mae",)
    else:
        raise BlockError(
            f"{type(final).__name__} is neither a classifier nor a regressor; rai.fairness needs one"
        )
    counts = np.array([g["count"] for g in report["by_group"].values()])
    report.update(
        sensitive_column=sensitive_column,
        target=label,
        rows=int(len(table)),
        confidence=confidence,
        resamples=resamples,
        warnings=_warnings_for(list(report["by_group"]), counts, sensitive_column),
    )
    headline = (
        "demographic_parity_ratio" if report["task"] == "classification" else "mae_difference"
    )
    report["headline"] = {"name": headline, "value": report[headline]}
    per_class = ", per class" if "by_class" in report else ""
    report["charts"] = [
        _rate_chart(report, m, f"{m.replace('_', ' ')} by {sensitive_column}{per_class}") for m in metrics
    ]
    return report


# --- charts ---------------------------------------------------------------------------------


def _rate_chart(report: dict[str, Any], metric: str, title: str) -> dict[str, Any]:
    """Bars per group for ``metric`` with the bootstrap interval as a rule, when there is one.

    A multiclass report (with ``by_class``) gets one bar per class side by side in each
    group, coloured by class: each class judged against the rest."""
    by_class = report.get("by_class")
    parts = by_class.items() if by_class else [(None, report)]
    rows = []
    for label, part in parts:
        for group, values in part["by_group"].items():
            ci = values.get(f"{metric}_ci") or (values.get("ci") or {}).get(metric) or [None, None]
            rows.append(
                {**({"class": label} if by_class else {}), "group": group, "value": values.get(metric),
                 "low": ci[0], "high": ci[1], "count": values.get("count")}
            )  # fmt: skip
    frame = pd.DataFrame(rows)
    shown = metric.replace("_", " ")
    column = str(report.get("column") or report.get("sensitive_column") or "group")
    x = {"field": "group", "type": "nominal", "sort": None}
    tooltip = [("group", "nominal"), ("value", "quantitative"), ("low", "quantitative"),
               ("high", "quantitative"), ("count", "quantitative")]  # fmt: skip
    if by_class:
        x = {**x, "title": column, "axis": {"labelAngle": 0}}
        placed = {"x": x, "xOffset": {"field": "class", "type": "nominal", "sort": None}}
        bar: dict[str, Any] = {
            "mark": {"type": "bar", "tooltip": True},
            "encoding": {
                **placed,
                "y": {"field": "value", "type": "quantitative", "title": shown},
                "color": {"field": "class", "type": "nominal", "sort": None, "title": "class"},
                "tooltip": _tooltip(("class", "nominal"), *tooltip),
            },
        }
        each = "each group for each class (that class against the rest)"
    else:
        placed = {"x": x}
        bar = {
            "mark": {"type": "bar", "tooltip": True, "color": "#2563eb"},
            "encoding": {
                "x": {**x, "title": column},
                "y": {"field": "value", "type": "quantitative", "title": shown},
                "tooltip": _tooltip(*tooltip),
            },
        }
        each = "each group"
    layers = [bar]
    if frame["low"].notna().any():
        layers.append(
            {
                "mark": {"type": "rule", "color": "#111827", "strokeWidth": 2},
                "encoding": {
                    **placed,
                    "y": {"field": "low", "type": "quantitative"},
                    "y2": {"field": "high"},
                },
            }
        )
    intervals = "with its bootstrap interval" if len(layers) > 1 else "without intervals"
    return base_spec(title, f"{shown} of {each} {intervals}", records(frame), layer=layers)


def _proxy_chart(column_report: dict[str, Any]) -> dict[str, Any]:
    frame = pd.DataFrame(column_report["proxies"])
    return base_spec(
        f"Possible proxies of {column_report['column']}",
        "mutual information between each column and the sensitive column (higher: the column "
        "could stand in for it)",
        records(frame),
        mark={"type": "bar", "tooltip": True, "color": "#d97706"},
        encoding={
            "y": {"field": "feature", "type": "nominal", "sort": None, "title": None},
            "x": {
                "field": "mutual_information",
                "type": "quantitative",
                "title": "mutual information (nats)",
            },
        },
    )
