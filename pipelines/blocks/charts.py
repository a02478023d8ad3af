"""Vega-Lite specs built from data on the server: pure functions, plain JSON out.

Every function returns one Vega-Lite v6 spec (a dict) with its data inlined
(``data.values``), so a client draws it with vega-embed and fetches nothing.
Specs are bounded: point charts (scatter, residuals) hold at most
``MAX_POINTS`` rows drawn by a seeded sample, so the same inputs give the same
spec (caching stays sound); curves are thinned to at most ``MAX_POINTS`` points
keeping both ends; aggregates (histogram bins, correlations, calibration bins)
are computed on the whole column with pandas/NumPy, since their output is small.

Plain Python, no Django. A spec's ``title`` names it; ``description`` says what
it shows in words (the text the server page shows before the chart is drawn).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

MAX_POINTS = 5000
SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
WIDTH, HEIGHT = 360, 260
# Wider tables get their first columns profiled/correlated; the rest are named in the description.
MAX_PROFILE_COLUMNS = 24
MAX_CORRELATION_COLUMNS = 30
MAX_CATEGORIES = 20
MAX_FEATURES = 20
# model.evaluate's charts travel with its metrics (run summary, registry): kept lighter.
EVALUATION_POINTS = 1000
EVALUATION_CURVE_POINTS = 500
# Permutation importance refits nothing but predicts once per column and repeat: bounded.
MAX_PERMUTED_COLUMNS = 50

Spec = dict[str, Any]


# --- helpers --------------------------------------------------------------------------------


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-able dicts (column names as strings, missing values as None)."""
    frame = frame.rename(columns=str).replace([np.inf, -np.inf], np.nan)
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def sample_rows(frame: pd.DataFrame, max_points: int = MAX_POINTS, seed: int = 0) -> pd.DataFrame:
    """At most ``max_points`` rows, drawn with ``seed`` (all rows, in order, when fewer)."""
    max_points = max(1, min(int(max_points), MAX_POINTS))
    if len(frame) <= max_points:
        return frame
    return frame.sample(n=max_points, random_state=seed).sort_index()


def thin(length: int, max_points: int = MAX_POINTS) -> np.ndarray:
    """Indices of at most ``max_points`` of ``length`` ordered points, first and last kept."""
    if length <= max_points:
        return np.arange(length)
    return np.unique(np.linspace(0, length - 1, max_points).round().astype(int))


def base_spec(title: str, description: str, values: list[dict[str, Any]], **rest: Any) -> Spec:
    return {
        "$schema": SCHEMA,
        "title": title,
        "description": description,
        "width": WIDTH,
        "height": HEIGHT,
        "data": {"values": values},
        **rest,
    }


def _field(name: str) -> str:
    """A column name as a Vega-Lite field: dots and brackets would mean nested access."""
    return name.replace("\\", "\\\\").replace(".", "\\.").replace("[", "\\[").replace("]", "\\]")


def _tooltip(*fields: tuple[str, str], fmt: str = ".4~g") -> list[dict[str, Any]]:
    out = []
    for name, kind in fields:
        entry: dict[str, Any] = {"field": _field(name), "type": kind, "title": name}
        if kind == "quantitative":
            entry["format"] = fmt
        out.append(entry)
    return out


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _diagonal() -> dict[str, Any]:
    """A dashed y = x line from (0, 0) to (1, 1), for curves on the unit square."""
    return {
        "data": {"values": [{"a": 0, "b": 0}, {"a": 1, "b": 1}]},
        "mark": {"type": "line", "strokeDash": [4, 4], "color": "#9ca3af"},
        "encoding": {"x": {"field": "a", "type": "quantitative"}, "y": {"field": "b", "type": "quantitative"}},
    }


# --- tables ---------------------------------------------------------------------------------


def _numeric_bins(series: pd.Series, bins: int) -> list[dict[str, Any]]:
    values = series.dropna().to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return []
    counts, edges = np.histogram(values, bins=max(1, int(bins)))
    return [
        {"bin_start": float(a), "bin_end": float(b), "count": int(c)}
        for a, b, c in zip(edges[:-1], edges[1:], counts, strict=True)
    ]


def _category_counts(series: pd.Series, limit: int = MAX_CATEGORIES) -> list[dict[str, Any]]:
    counts = series.astype("string").fillna("(missing)").value_counts()
    shown = counts.head(limit)
    rows = [{"value": str(k), "count": int(v)} for k, v in shown.items()]
    if len(counts) > limit:
        rows.append({"value": f"({len(counts) - limit} others)", "count": int(counts.iloc[limit:].sum())})
    return rows


def _histogram_layer(series: pd.Series, column: str, bins: int) -> dict[str, Any]:
    """Mark, encoding and data of one column's distribution: binned bars or category counts."""
    if _is_numeric(series):
        return {
            "data": {"values": _numeric_bins(series, bins)},
            "mark": {"type": "bar", "tooltip": True},
            "encoding": {
                "x": {"field": "bin_start", "type": "quantitative", "bin": {"binned": True}, "title": column},
                "x2": {"field": "bin_end"},
                "y": {"field": "count", "type": "quantitative", "title": "rows"},
                "tooltip": _tooltip(("bin_start", "quantitative"), ("bin_end", "quantitative"), ("count", "quantitative")),
            },
        }
    return {
        "data": {"values": _category_counts(series)},
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "y": {"field": "value", "type": "nominal", "sort": "-x", "title": column},
            "x": {"field": "count", "type": "quantitative", "title": "rows"},
            "tooltip": _tooltip(("value", "nominal"), ("count", "quantitative")),
        },
    }


def histogram(frame: pd.DataFrame, column: str, bins: int = 20) -> Spec:
    """The distribution of ``column``: ``bins`` equal-width bars for numbers, top categories otherwise."""
    series = frame[column]
    layer = _histogram_layer(series, column, bins)
    missing = int(series.isna().sum())
    note = f"; {missing} missing" if missing else ""
    return base_spec(
        f"Distribution of {column}",
        f"{len(series)} rows{note}",
        layer["data"]["values"],
        mark=layer["mark"],
        encoding=layer["encoding"],
    )


def scatter(
    frame: pd.DataFrame,
    x: str,
    y: str,
    color: str | None = None,
    *,
    max_points: int = MAX_POINTS,
    seed: int = 0,
) -> Spec:
    """``y`` against ``x`` on a seeded sample of at most ``max_points`` rows, coloured by ``color``."""
    columns = list(dict.fromkeys(c for c in (x, y, color) if c))
    shown = sample_rows(frame[columns], max_points, seed)
    encoding: dict[str, Any] = {
        "x": {"field": _field(x), "type": "quantitative" if _is_numeric(frame[x]) else "nominal", "title": x},
        "y": {"field": _field(y), "type": "quantitative" if _is_numeric(frame[y]) else "nominal", "title": y},
    }
    for channel in (encoding["x"], encoding["y"]):
        if channel["type"] == "quantitative":
            channel["scale"] = {"zero": False}
    tips = [(x, encoding["x"]["type"]), (y, encoding["y"]["type"])]
    if color:
        numeric = _is_numeric(frame[color]) and frame[color].nunique() > MAX_CATEGORIES
        encoding["color"] = {"field": _field(color), "type": "quantitative" if numeric else "nominal", "title": color}
        tips.append((color, encoding["color"]["type"]))
    encoding["tooltip"] = _tooltip(*tips)
    sampled = f"a sample of {len(shown)} of {len(frame)} rows" if len(shown) < len(frame) else f"{len(frame)} rows"
    return base_spec(
        f"{y} against {x}",
        sampled,
        records(shown),
        mark={"type": "point", "filled": True, "opacity": 0.6, "size": 24},
        encoding=encoding,
    )


def correlation(frame: pd.DataFrame, *, method: str = "pearson") -> Spec:
    """A heatmap of the pairwise correlations of the numeric columns (the first 30)."""
    numeric = [c for c in frame.columns if _is_numeric(frame[c])]
    used = numeric[:MAX_CORRELATION_COLUMNS]
    matrix = frame[used].corr(method=method) if used else pd.DataFrame()
    long = matrix.rename(index=str, columns=str).stack(future_stack=True).reset_index()
    long.columns = ["x", "y", "r"]
    long["r"] = long["r"].round(4)
    order = [str(c) for c in used]
    more = f"; {len(numeric) - len(used)} more numeric columns left out" if len(numeric) > len(used) else ""
    side = max(160, min(560, 24 * len(used)))
    spec = base_spec(
        "Correlation of numeric columns",
        f"{method} correlation of {len(used)} numeric columns over {len(frame)} rows{more}",
        records(long),
        layer=[
            {
                "mark": {"type": "rect", "tooltip": True},
                "encoding": {
                    "color": {
                        "field": "r",
                        "type": "quantitative",
                        "scale": {"scheme": "redblue", "domain": [-1, 1], "reverse": True},
                        "title": "r",
                    },
                },
            },
            {
                "mark": {"type": "text", "fontSize": 9},
                "encoding": {
                    "text": {"field": "r", "type": "quantitative", "format": ".2f"},
                    "color": {"condition": {"test": "abs(datum.r) > 0.6", "value": "white"}, "value": "#111827"},
                },
            },
        ],
        encoding={
            "x": {"field": "x", "type": "nominal", "sort": order, "title": None},
            "y": {"field": "y", "type": "nominal", "sort": order, "title": None},
            "tooltip": _tooltip(("x", "nominal"), ("y", "nominal"), ("r", "quantitative")),
        },
    )
    spec["width"] = spec["height"] = side
    if len(used) > 12:
        spec["layer"] = spec["layer"][:1]  # numbers would not fit in the cells
    return spec


def profile(frame: pd.DataFrame, *, bins: int = 15) -> Spec:
    """One small histogram (numbers) or bar chart (other values) per column, four to a row."""
    used = [str(c) for c in frame.columns[:MAX_PROFILE_COLUMNS]]
    panels = []
    for column in used:
        layer = _histogram_layer(frame[column], column, bins)
        for channel in layer["encoding"].values():
            if isinstance(channel, dict) and channel.get("title") == column:
                channel["title"] = None  # the panel's title names the column already
        missing = int(frame[column].isna().sum())
        panels.append(
            {
                "title": {"text": column, "subtitle": f"{str(frame[column].dtype)}, {missing} missing", "fontSize": 11},
                "width": 150,
                "height": 90,
                **layer,
            }
        )
    more = f"; the first {len(used)} of {frame.shape[1]} columns" if frame.shape[1] > len(used) else ""
    return {
        "$schema": SCHEMA,
        "title": "Column profile",
        "description": f"{len(frame)} rows × {frame.shape[1]} columns{more}",
        "columns": 4,
        "concat": panels,
        "resolve": {"scale": {"x": "independent", "y": "independent"}},
    }


# --- models ---------------------------------------------------------------------------------


def roc(y_true: Any, scores: Any, *, pos_label: Any = 1, max_points: int = MAX_POINTS) -> Spec:
    """The ROC curve (false vs true positive rate over thresholds) with its AUC in the title."""
    from sklearn.metrics import auc, roc_curve

    fpr, tpr, thresholds = roc_curve(y_true, scores, pos_label=pos_label)
    keep = thin(len(fpr), max_points)
    points = pd.DataFrame({"fpr": fpr[keep], "tpr": tpr[keep], "threshold": thresholds[keep]})
    area = float(auc(fpr, tpr))
    return base_spec(
        f"ROC curve (AUC {area:.3f})",
        f"positive class {pos_label}; {len(fpr)} thresholds",
        records(points),
        layer=[
            {
                "mark": {"type": "line", "interpolate": "step-after", "point": False, "tooltip": True},
                "encoding": {
                    "x": {"field": "fpr", "type": "quantitative", "title": "false positive rate"},
                    "y": {"field": "tpr", "type": "quantitative", "title": "true positive rate"},
                    "order": {"field": "fpr"},
                    "tooltip": _tooltip(("fpr", "quantitative"), ("tpr", "quantitative"), ("threshold", "quantitative")),
                },
            },
            _diagonal(),
        ],
    )


def roc_by_class(y_true: Any, probabilities: Any, classes: list[Any], *, max_points: int = 1000) -> Spec:
    """One-vs-rest ROC curves, one per class (a line each, coloured by class)."""
    from sklearn.metrics import auc, roc_curve

    probabilities = np.asarray(probabilities)
    parts = []
    for i, label in enumerate(classes):  # one curve per class, not per row
        fpr, tpr, thresholds = roc_curve(np.asarray(y_true) == label, probabilities[:, i])
        keep = thin(len(fpr), max_points)
        name = f"{label} (AUC {auc(fpr, tpr):.3f})"
        parts.append(pd.DataFrame({"class": name, "fpr": fpr[keep], "tpr": tpr[keep], "threshold": thresholds[keep]}))
    points = pd.concat(parts, ignore_index=True)
    return base_spec(
        "ROC curves, one class against the rest",
        f"{len(classes)} classes",
        records(points),
        layer=[
            {
                "mark": {"type": "line", "interpolate": "step-after", "tooltip": True},
                "encoding": {
                    "x": {"field": "fpr", "type": "quantitative", "title": "false positive rate"},
                    "y": {"field": "tpr", "type": "quantitative", "title": "true positive rate"},
                    "color": {"field": "class", "type": "nominal"},
                    "order": {"field": "fpr"},
                    "tooltip": _tooltip(("class", "nominal"), ("fpr", "quantitative"), ("tpr", "quantitative"),
                                        ("threshold", "quantitative")),
                },
            },
            _diagonal(),
        ],
    )


def precision_recall(y_true: Any, scores: Any, *, pos_label: Any = 1, max_points: int = MAX_POINTS) -> Spec:
    """The precision-recall curve with its average precision in the title."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(y_true, scores, pos_label=pos_label)
    # The last point (recall 0, precision 1) has no threshold.
    thresholds = np.append(thresholds, np.nan)
    keep = thin(len(precision), max_points)
    points = pd.DataFrame({"recall": recall[keep], "precision": precision[keep], "threshold": thresholds[keep]})
    ap = float(average_precision_score(np.asarray(y_true) == pos_label, scores))
    return base_spec(
        f"Precision-recall curve (AP {ap:.3f})",
        f"positive class {pos_label}; {len(precision)} thresholds",
        records(points),
        mark={"type": "line", "interpolate": "step-after", "tooltip": True},
        encoding={
            "x": {"field": "recall", "type": "quantitative", "scale": {"domain": [0, 1]}},
            "y": {"field": "precision", "type": "quantitative", "scale": {"domain": [0, 1]}},
            "order": {"field": "recall"},
            "tooltip": _tooltip(("recall", "quantitative"), ("precision", "quantitative"), ("threshold", "quantitative")),
        },
    )


def calibration(y_true: Any, probabilities: Any, *, pos_label: Any = 1, bins: int = 10) -> Spec:
    """Mean predicted probability against the observed positive rate, per probability bin."""
    from sklearn.calibration import calibration_curve

    positive = np.asarray(y_true) == pos_label
    prob = np.asarray(probabilities, dtype=float)
    observed, predicted = calibration_curve(positive, prob, n_bins=bins, strategy="uniform")
    # Rows per non-empty bin, in the same order calibration_curve reports them.
    edges = np.linspace(0.0, 1.0, bins + 1)
    counts = np.bincount(np.clip(np.searchsorted(edges[1:-1], prob), 0, bins - 1), minlength=bins)
    counts = counts[counts > 0]
    points = pd.DataFrame({"predicted": predicted, "observed": observed, "rows": counts[: len(predicted)]})
    return base_spec(
        "Calibration",
        f"positive class {pos_label}; {bins} equal-width probability bins",
        records(points),
        layer=[
            {
                "mark": {"type": "line", "point": True, "tooltip": True},
                "encoding": {
                    "x": {"field": "predicted", "type": "quantitative", "title": "mean predicted probability",
                          "scale": {"domain": [0, 1]}},
                    "y": {"field": "observed", "type": "quantitative", "title": "fraction positive",
                          "scale": {"domain": [0, 1]}},
                    "tooltip": _tooltip(("predicted", "quantitative"), ("observed", "quantitative"), ("rows", "quantitative")),
                },
            },
            _diagonal(),
        ],
    )


def feature_names(model: Any, count: int) -> list[str]:
    """Names of the ``count`` inputs of a Pipeline's final step, as the steps before it name them."""
    names: Any = None
    try:
        if len(model.steps) > 1:
            names = model[:-1].get_feature_names_out()
        else:
            names = getattr(model, "feature_names_in_", None)
    except (AttributeError, ValueError, TypeError):
        names = None
    if names is None or len(names) != count:
        return [f"x{i}" for i in range(count)]
    return [str(n) for n in names]


def model_importances(model: Any) -> tuple[str, np.ndarray] | None:
    """``(what, values)`` from the final step: ``feature_importances_`` or ``coef_``; None without either."""
    final = model[-1] if hasattr(model, "steps") else model
    values = getattr(final, "feature_importances_", None)
    if values is not None:
        return "importance", np.asarray(values, dtype=float).ravel()
    coef = getattr(final, "coef_", None)
    if coef is None:
        return None
    coef = np.asarray(coef, dtype=float)
    if coef.ndim == 2 and coef.shape[0] > 1:
        return "mean |coefficient| over classes", np.abs(coef).mean(axis=0)
    return "coefficient", coef.ravel()


def feature_importance(model: Any, *, top: int = MAX_FEATURES) -> Spec | None:
    """The model's own importances (or coefficients) by feature, largest magnitude first; None if it has none."""
    found = model_importances(model)
    if found is None:
        return None
    what, values = found
    frame = pd.DataFrame({"feature": feature_names(model, len(values)), "value": values})
    frame = frame.loc[frame["value"].abs().sort_values(ascending=False).index].head(top)
    return base_spec(
        "Feature importance",
        f"{what} from {type(model[-1] if hasattr(model, 'steps') else model).__name__}; "
        f"top {len(frame)} of {len(values)} features",
        records(frame.round({"value": 6})),
        mark={"type": "bar", "tooltip": True},
        encoding={
            "y": {"field": "feature", "type": "nominal", "sort": None, "title": None},
            "x": {"field": "value", "type": "quantitative", "title": what},
            "color": {"condition": {"test": "datum.value < 0", "value": "#dc2626"}, "value": "#2563eb"},
            "tooltip": _tooltip(("feature", "nominal"), ("value", "quantitative")),
        },
    )


def permutation_importance_chart(
    model: Any,
    features: pd.DataFrame,
    y: Any,
    *,
    top: int = MAX_FEATURES,
    max_rows: int = EVALUATION_POINTS,
    repeats: int = 3,
    seed: int = 0,
) -> Spec:
    """How much the model's score drops when one input column is shuffled (on a seeded sample).

    For models without importances of their own (k-NN, kernel SVMs); measured on
    the raw input columns, so the names are the table's.
    """
    rows = sample_rows(features.reset_index(drop=True), max_rows, seed)
    target = pd.Series(np.asarray(y)).iloc[rows.index]
    mean, std = permutation_importances(model, rows, target, repeats=repeats, seed=seed)
    frame = pd.DataFrame({"feature": [str(c) for c in features.columns], "value": mean, "std": std})
    frame = frame.sort_values("value", ascending=False, kind="stable").head(top)
    return base_spec(
        "Feature importance",
        f"permutation importance (score drop when a column is shuffled, {repeats} repeats on "
        f"{len(rows)} rows); top {len(frame)} of {features.shape[1]} columns",
        records(frame.round({"value": 6, "std": 6})),
        mark={"type": "bar", "tooltip": True},
        encoding={
            "y": {"field": "feature", "type": "nominal", "sort": None, "title": None},
            "x": {"field": "value", "type": "quantitative", "title": "score drop when shuffled"},
            "tooltip": _tooltip(("feature", "nominal"), ("value", "quantitative"), ("std", "quantitative")),
        },
    )


def permutation_importances(
    model: Any, rows: pd.DataFrame, target: Any, *, repeats: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's ``permutation_importance(model, rows, target, n_repeats=repeats,
    random_state=seed)`` (mean and std per column), with the same shuffles and
    scores, but every shuffled copy of ``rows`` is scored in ONE call of the
    model on all of them stacked: a Pipeline's preprocessing has a fixed cost
    per call, and 30 columns × 3 repeats made 91 calls.

    The shuffles are scikit-learn's: one RandomState seeded from ``seed``
    draws a seed; each column starts a fresh RandomState from it and shuffles
    its (already shuffled) values again at every repeat. The score is the
    model's default (accuracy for classifiers, R² for regressors).
    """
    from sklearn.base import is_classifier
    from sklearn.metrics import accuracy_score, r2_score

    n = len(rows)
    column_seed = np.random.RandomState(seed).randint(np.iinfo(np.int32).max + 1)
    blocks = [rows]
    for j, column in enumerate(rows.columns):
        state = np.random.RandomState(column_seed)
        order, positions = np.arange(n), np.arange(n)
        for _ in range(repeats):
            state.shuffle(order)
            positions = positions[order]
            shuffled = rows.copy()
            shuffled.isetitem(j, rows[column].iloc[positions].set_axis(rows.index))
            blocks.append(shuffled)
    predicted = np.asarray(model.predict(pd.concat(blocks, ignore_index=True)))
    score = accuracy_score if is_classifier(model) else r2_score
    truth = np.asarray(target)
    scores = np.array([score(truth, predicted[i * n : (i + 1) * n]) for i in range(len(blocks))])
    importances = scores[0] - scores[1:].reshape(len(rows.columns), repeats)
    return importances.mean(axis=1), importances.std(axis=1)


def _prediction_frame(y_true: Any, predicted: Any, max_points: int, seed: int) -> tuple[pd.DataFrame, int]:
    frame = pd.DataFrame({"actual": np.asarray(y_true, dtype=float), "predicted": np.asarray(predicted, dtype=float)})
    frame["residual"] = frame["actual"] - frame["predicted"]
    return sample_rows(frame.reset_index(drop=True), max_points, seed), len(frame)


def residuals(y_true: Any, predicted: Any, *, max_points: int = MAX_POINTS, seed: int = 0) -> Spec:
    """Residual (actual − predicted) against the prediction, on a seeded sample, with a zero line."""
    shown, total = _prediction_frame(y_true, predicted, max_points, seed)
    return base_spec(
        "Residuals",
        f"actual − predicted for {len(shown)} of {total} rows",
        records(shown.round(6)),
        layer=[
            {
                "mark": {"type": "point", "filled": True, "opacity": 0.6, "size": 24, "tooltip": True},
                "encoding": {
                    "x": {"field": "predicted", "type": "quantitative", "scale": {"zero": False}},
                    "y": {"field": "residual", "type": "quantitative", "title": "actual − predicted"},
                    "tooltip": _tooltip(("actual", "quantitative"), ("predicted", "quantitative"), ("residual", "quantitative")),
                },
            },
            {"mark": {"type": "rule", "color": "#9ca3af", "strokeDash": [4, 4]}, "encoding": {"y": {"datum": 0}}},
        ],
    )


def predicted_vs_actual(y_true: Any, predicted: Any, *, max_points: int = MAX_POINTS, seed: int = 0) -> Spec:
    """Prediction against the true value on a seeded sample, with the y = x line of a perfect model."""
    shown, total = _prediction_frame(y_true, predicted, max_points, seed)
    low = float(min(shown["actual"].min(), shown["predicted"].min())) if len(shown) else 0.0
    high = float(max(shown["actual"].max(), shown["predicted"].max())) if len(shown) else 1.0
    return base_spec(
        "Predicted vs actual",
        f"{len(shown)} of {total} rows; on the dashed line the prediction is exact",
        records(shown.round(6)),
        layer=[
            {
                "mark": {"type": "point", "filled": True, "opacity": 0.6, "size": 24, "tooltip": True},
                "encoding": {
                    "x": {"field": "actual", "type": "quantitative", "scale": {"zero": False}},
                    "y": {"field": "predicted", "type": "quantitative", "scale": {"zero": False}},
                    "tooltip": _tooltip(("actual", "quantitative"), ("predicted", "quantitative"), ("residual", "quantitative")),
                },
            },
            {
                "data": {"values": [{"a": low, "b": low}, {"a": high, "b": high}]},
                "mark": {"type": "line", "strokeDash": [4, 4], "color": "#9ca3af"},
                "encoding": {"x": {"field": "a", "type": "quantitative"}, "y": {"field": "b", "type": "quantitative"}},
            },
        ],
    )


# --- what model.evaluate attaches -----------------------------------------------------------


def positive_scores(model: Any, features: pd.DataFrame, *, scored: Any = None) -> tuple[np.ndarray, bool] | None:
    """Scores of the second class of a binary classifier, and whether they are probabilities.

    ``scored``: the model's answers on ``features`` when the caller has them (``metrics.Scored``).
    """
    from .metrics import Scored

    scored = scored or Scored(model, features)
    if scored.has_proba:
        return np.asarray(scored.predict_proba())[:, 1], True
    if scored.has_decision:
        scores = np.asarray(scored.decision_function())
        return (scores[:, 1] if scores.ndim == 2 else scores), False
    return None


def evaluation_charts(
    model: Any, features: pd.DataFrame, y: pd.Series, *, task: str, scored: Any = None
) -> list[Spec]:
    """The charts ``model.evaluate`` shows beside its metrics.

    Binary classification: ROC, precision-recall and (with probabilities)
    calibration; regression: residuals and predicted-vs-actual; both: the
    model's own feature importances when its final step has them, else permutation
    importances on a sample (up to 50 input columns). A chart that
    is undefined for the data (one class present) is left out.
    """
    from .metrics import Scored

    scored = scored or Scored(model, features)
    charts: list[Spec] = []
    if task == "classification":
        classes = list(getattr(model, "classes_", []))
        present = set(pd.unique(y))
        positive_scored = positive_scores(model, features, scored=scored) if len(classes) == 2 else None
        if positive_scored is not None and len(present) == 2 and present <= set(classes):
            scores, probabilistic = positive_scored
            positive = classes[1]
            charts.append(roc(y, scores, pos_label=positive, max_points=EVALUATION_CURVE_POINTS))
            charts.append(precision_recall(y, scores, pos_label=positive, max_points=EVALUATION_CURVE_POINTS))
            if probabilistic:
                charts.append(calibration(y, scores, pos_label=positive))
    elif task == "regression":
        predicted = scored.predict()
        charts.append(predicted_vs_actual(y, predicted, max_points=EVALUATION_POINTS))
        charts.append(residuals(y, predicted, max_points=EVALUATION_POINTS))
    importance = feature_importance(model)
    if importance is None and 0 < features.shape[1] <= MAX_PERMUTED_COLUMNS:
        importance = permutation_importance_chart(model, features, y)
    if importance is not None:
        charts.append(importance)
    return charts


def with_charts(
    metrics: dict[str, Any], model: Any, features: pd.DataFrame, y: pd.Series, *, scored: Any = None
) -> dict[str, Any]:
    """``metrics`` plus ``"charts"``: the list of specs ``evaluation_charts`` draws for its task."""
    return {**metrics, "charts": evaluation_charts(model, features, y, task=metrics.get("task", ""), scored=scored)}
