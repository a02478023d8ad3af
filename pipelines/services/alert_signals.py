"""What each alert signal reads from a monitoring window, and when it breaches.

Plain Python (no Django): a window is the API's dict (DESIGN.md, "Monitoring"):
``{"start", "end", "n", "drift": {"dataset_drift", "share", "features": [...]},
"prediction_drift", "quality", "performance": {"metric", "value", "n_labels", "ci"},
"latency_ms": {"p50", "p95", "p99"}, "error_rate"}``.

``signal_value`` answers ``(value, detail)``, or ``(None, why)`` when the window
gives no verdict on that signal (too few rows or labels, no traffic): such a
window neither counts towards an alert nor resolves one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

DRIFT_SIGNALS = ("drift_share", "feature_drift")  # what a retrain policy calls "drift"


@dataclass(frozen=True)
class SignalSpec:
    """How a signal is compared and which thresholds make sense for it."""

    label: str
    unit: str
    fires_below: bool  # performance fires when the metric falls below; the rest at or above
    low: float  # thresholds must lie in [low, high] (low excluded when low_open)
    high: float
    low_open: bool
    default: float | None  # the default rule's threshold (None: depends on the model)
    default_consecutive: int = 1

    def range_text(self) -> str:
        return f"{'more than' if self.low_open else 'at least'} {self.low:g} and at most {self.high:g}"


SIGNALS: dict[str, SignalSpec] = {
    "drift_share": SignalSpec("share of drifted features", "", False, 0.0, 1.0, True, 0.5),
    "feature_drift": SignalSpec("drifted features", "features", False, 1.0, 100_000.0, False, None),
    "performance": SignalSpec("performance metric", "", True, -1e6, 1e6, False, None),
    "latency_p95_ms": SignalSpec("p95 latency", "ms", False, 0.0, 3_600_000.0, True, 1000.0, 2),
    "error_rate": SignalSpec("error rate", "", False, 0.0, 1.0, True, 0.05, 2),
    "quality": SignalSpec("data quality issue rate", "", False, 0.0, 1.0, True, 0.1),
}

# The default performance rule fires when the live metric falls this far below the
# validation value the model was registered with.
PERFORMANCE_DEFAULT_DROP = 0.05


def threshold_problem(signal: str, threshold: Any) -> str | None:
    """Why ``threshold`` is not acceptable for ``signal`` (None: it is)."""
    spec = SIGNALS[signal]
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not math.isfinite(threshold):
        return "threshold must be a finite number"
    too_low = threshold <= spec.low if spec.low_open else threshold < spec.low
    if too_low or threshold > spec.high:
        return f"a {signal} threshold must be {spec.range_text()} ({threshold:g} given)"
    if signal == "feature_drift" and threshold != int(threshold):
        return "a feature_drift threshold is a whole number of features"
    return None


def breaches(signal: str, value: float, threshold: float) -> bool:
    if SIGNALS[signal].fires_below:
        return value < threshold
    return value >= threshold


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _drift_share(window: dict) -> tuple[float | None, str]:
    drift = window.get("drift")
    share = _number(drift.get("share")) if isinstance(drift, dict) else None
    if share is None:
        return None, "no drift verdict (too few rows)"
    drifted = _drifted_names(drift)
    return share, f"{share:.0%} of features drifted" + (f": {', '.join(drifted[:10])}" if drifted else "")


def _drifted_names(drift: dict) -> list[str]:
    features = drift.get("features")
    if not isinstance(features, list):
        return []
    return [str(f.get("name")) for f in features if isinstance(f, dict) and f.get("drifted") is True]


def _feature_drift(window: dict) -> tuple[float | None, str]:
    drift = window.get("drift")
    if not isinstance(drift, dict) or not isinstance(drift.get("features"), list) or _number(drift.get("share")) is None:
        return None, "no drift verdict (too few rows)"
    drifted = _drifted_names(drift)
    return float(len(drifted)), (f"drifted: {', '.join(drifted[:10])}" if drifted else "no feature drifted")


def _performance(window: dict) -> tuple[float | None, str]:
    performance = window.get("performance")
    value = _number(performance.get("value")) if isinstance(performance, dict) else None
    if value is None:
        return None, "no performance verdict (too few labels)"
    metric = performance.get("metric") or "metric"
    labels = performance.get("n_labels")
    return value, f"{metric} {value:.4g}" + (f" on {labels} labels" if isinstance(labels, int) else "")


def _latency(window: dict) -> tuple[float | None, str]:
    latency = window.get("latency_ms")
    p95 = _number(latency.get("p95")) if isinstance(latency, dict) else None
    if p95 is None:
        return None, "no requests"
    return p95, f"p95 latency {p95:.1f} ms"


def _error_rate(window: dict) -> tuple[float | None, str]:
    # Not gated on ``n`` (rows predicted): a window where every request failed has
    # predicted nothing, and that is exactly when this rule must fire.
    rate = _number(window.get("error_rate"))
    if rate is None:
        return None, "no requests"
    return rate, f"{rate:.1%} of requests failed"


def _rates(block: dict) -> list[tuple[str, float]]:
    """``(name, rate)`` of every ``*_rate`` (or ``share``) number in a quality block."""
    out = []
    for key, value in block.items():
        number = _number(value)
        if number is not None and (key.endswith("_rate") or key == "share"):
            out.append((key, number))
    return out


def _quality(window: dict) -> tuple[float | None, str]:
    """The worst issue rate the window's quality report shows.

    Reads ``quality`` flexibly: a numeric ``score`` if present; otherwise the
    largest ``*_rate`` (null_rate, unseen_rate, out_of_range_rate, type_error_rate …)
    at the top level or per feature (``features``: a list of dicts with ``name``, or
    a dict keyed by column); missing columns count as a rate of 1.
    """
    quality = window.get("quality")
    if not isinstance(quality, dict) or not quality or not window.get("n"):
        return None, "no data quality verdict"
    score = _number(quality.get("score"))
    if score is not None:
        return score, f"quality score {score:.4g}"
    worst: tuple[float, str] = (0.0, "no quality issue")
    missing = quality.get("missing_columns")
    if isinstance(missing, list) and missing:
        worst = (1.0, f"missing columns: {', '.join(map(str, missing[:10]))}")
    for key, rate in _rates(quality):
        if rate > worst[0]:
            worst = (rate, f"{key} {rate:.1%}")
    features = quality.get("features")
    items = (
        [(str(f.get("name")), f) for f in features if isinstance(f, dict)] if isinstance(features, list)
        else [(str(k), v) for k, v in features.items() if isinstance(v, dict)] if isinstance(features, dict)
        else []
    )
    for name, block in items:
        for key, rate in _rates(block):
            if rate > worst[0]:
                worst = (rate, f"{name}: {key} {rate:.1%}")
    return worst


_READERS = {
    "drift_share": _drift_share,
    "feature_drift": _feature_drift,
    "performance": _performance,
    "latency_p95_ms": _latency,
    "error_rate": _error_rate,
    "quality": _quality,
}


def signal_value(signal: str, window: dict) -> tuple[float | None, str]:
    """The signal's value in ``window`` and a short description, or (None, why not)."""
    return _READERS[signal](window)
