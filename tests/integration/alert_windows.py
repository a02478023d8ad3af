"""Monitoring windows in the API's shape, built directly for alert tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


def window(
    day: int,
    *,
    share: float | None = 0.0,
    drifted: tuple[str, ...] = (),
    performance: float | None = None,
    p95: float | None = 20.0,
    error_rate: float = 0.0,
    n: int = 500,
    quality: dict | None = None,
) -> dict[str, Any]:
    """The window of 2026-01-``day`` (a day long). ``share=None``: too few rows for drift."""
    start = datetime(2026, 1, day, tzinfo=UTC)
    features = [
        {"name": name, "kind": "numeric", "method": "ks", "score": 0.001, "threshold": 0.05, "drifted": True}
        for name in drifted
    ] + [{"name": "b", "kind": "numeric", "method": "ks", "score": 0.6, "threshold": 0.05, "drifted": False}]
    return {
        "start": start.isoformat().replace("+00:00", "Z"),
        "end": (start + timedelta(days=1)).isoformat().replace("+00:00", "Z"),
        "n": n,
        "drift": {"dataset_drift": bool(share and share >= 0.5), "share": share, "features": features},
        "prediction_drift": {},
        "quality": quality if quality is not None else {"null_rate": 0.0},
        "performance": {"metric": "accuracy", "value": performance, "n_labels": 80 if performance else 0, "ci": None},
        "latency_ms": {"p50": 5.0, "p95": p95, "p99": p95},
        "error_rate": error_rate,
    }
