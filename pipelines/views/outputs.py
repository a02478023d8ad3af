"""How each kind of step output is shown on the server-rendered pages: one renderer per kind.

A renderer is a template under ``templates/pages/outputs/`` plus a function that
turns the output's summary values into that template's ``out`` context. The
run detail page and the model page both render through ``render_output``, so
a new kind of output (drift, fairness, explanations …) needs one
``@renderer("kind", "pages/outputs/kind.html")`` here and nothing else on the server.
Plain Python: no queries, no Django imports, so it is tested without a database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..execution.summaries import FALLBACK_KIND, step_outputs

Build = Callable[[Mapping[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Renderer:
    template: str
    build: Build


@dataclass(frozen=True)
class RenderedOutput:
    """One output ready for ``{% include o.template with out=o.data port=o.port kind=o.kind type=o.type %}``."""

    port: str
    kind: str
    type: str
    template: str
    data: dict[str, Any]

    @property
    def headline(self) -> dict | None:
        """The metric this output puts forward (a step shows the first one in its title)."""
        headline = self.data.get("headline")
        return headline if isinstance(headline, dict) else None

    @property
    def has_content(self) -> bool:
        return bool(self.data.get("has_content", True))


RENDERERS: dict[str, Renderer] = {}


def renderer(kind: str, template: str) -> Callable[[Build], Build]:
    """Register ``build`` and ``template`` as how outputs of ``kind`` are shown."""

    def register(build: Build) -> Build:
        RENDERERS[kind] = Renderer(template=template, build=build)
        return build

    return register


def render_output(port: str, kind: str, values: Mapping[str, Any], *, port_type: str = "") -> RenderedOutput:
    """``values`` (an output's summary) through the renderer of ``kind``; unknown kinds as JSON."""
    chosen = RENDERERS.get(kind) or RENDERERS[FALLBACK_KIND]
    return RenderedOutput(
        port=port, kind=kind, type=port_type, template=chosen.template, data=chosen.build(values)
    )


def render_step_outputs(summary: Any) -> list[RenderedOutput]:
    """Every output of a step's ``summary``, in port order, each through its kind's renderer."""
    return [render_output(o.port, o.kind, o.values, port_type=o.type) for o in step_outputs(summary)]


# --- the renderers ---------------------------------------------------------------------------


@renderer("metrics", "pages/outputs/metrics.html")
def metrics_view(values: Mapping[str, Any]) -> dict[str, Any]:
    """Scalar metrics as rows, the headline marked, the confusion matrix as shaded cells,
    and the charts ``model.evaluate`` attached (``charts``: a list of Vega-Lite specs)."""
    headline = values.get("headline")
    scalars = [
        (name, value)
        for name, value in values.items()
        if name not in {"headline", "confusion_matrix"} and not isinstance(value, dict | list)
    ]
    confusion = confusion_view(values.get("confusion_matrix"))
    listed = values.get("charts") if isinstance(values.get("charts"), list) else []
    charts = [c for c in (chart_view(spec) for spec in listed) if c["has_content"]]
    return {
        "headline": headline if isinstance(headline, dict) else None,
        "scalars": scalars,
        "confusion": confusion,
        "charts": charts,
        "has_content": bool(scalars or confusion or charts),
    }


def confusion_view(cm: Any) -> dict | None:
    """``{"labels", "matrix"}`` → rows of cells with a 0..1 shade for the colour."""
    if not isinstance(cm, dict):
        return None
    labels, matrix = cm.get("labels"), cm.get("matrix")
    if not isinstance(labels, list) or not isinstance(matrix, list) or not matrix:
        return None
    peak = max((v for row in matrix for v in row if isinstance(v, int | float)), default=0) or 1
    rows = []
    for i, row in enumerate(matrix):
        cells = [
            {
                "value": v,
                "shade": round(v / peak, 3) if isinstance(v, int | float) else 0,
                "diagonal": i == j,
                "dark": isinstance(v, int | float) and v / peak > 0.55,
            }
            for j, v in enumerate(row)
        ]
        rows.append({"label": labels[i] if i < len(labels) else i, "cells": cells})
    return {"labels": labels, "rows": rows}


@renderer("table", "pages/outputs/table.html")
def table_view(values: Mapping[str, Any]) -> dict[str, Any]:
    """Row count, typed column headers and the first 10 preview rows."""
    return {
        "rows": values.get("rows"),
        "columns": values.get("columns") or [],
        "preview": (values.get("preview") or [])[:10],
    }


@renderer("object", "pages/outputs/object.html")
def object_view(values: Mapping[str, Any]) -> dict[str, Any]:
    """An estimator chain or a fitted model: its steps, classes and features."""
    return {
        "steps": values.get("steps") or [],
        "classes": values.get("classes"),
        "features": values.get("features"),
        "plan": values.get("plan") or [],
        "has_content": bool(values.get("steps")),
    }


@renderer("tuning", "pages/outputs/tuning.html")
def tuning_view(report: Mapping[str, Any]) -> dict[str, Any]:
    """Ranked candidates with bar geometry for the chart: mean score ± std, best first."""
    rows = [r for r in report.get("results") or [] if isinstance(r, dict)]
    scored = [r for r in rows if isinstance(r.get("mean_score"), int | float)]
    low = min((r["mean_score"] - (r.get("std_score") or 0) for r in scored), default=0)
    high = max((r["mean_score"] + (r.get("std_score") or 0) for r in scored), default=1)
    low = min(low, high - 1e-9)
    # Start the axis a little below the worst score so differences stay visible.
    floor = max(0.0, low - (high - low) * 0.25) if low >= 0 else low

    def pct(value: float) -> float:
        return round(100 * (value - floor) / (high - floor), 2)

    table = []
    for r in rows:
        mean, std = r.get("mean_score"), r.get("std_score") or 0
        params = ", ".join(f"{k}={v}" for k, v in (r.get("params") or {}).items())
        entry = {"rank": r.get("rank"), "params": params, "mean": mean, "std": std,
                 "seconds": r.get("fit_seconds"), "error": r.get("error")}
        if isinstance(mean, int | float):
            entry.update(bar=pct(mean), lo=pct(mean - std), hi=pct(mean + std))
        table.append(entry)
    headline = report.get("headline")
    return {
        "scoring": report.get("scoring"),
        "folds": report.get("folds"),
        "candidates": report.get("candidates"),
        "best_params": ", ".join(f"{k}={v}" for k, v in (report.get("best_params") or {}).items()),
        "best_score": report.get("best_score"),
        "axis": {"low": floor, "high": high},
        "rows": table,
        "headline": headline if isinstance(headline, dict) else None,
    }


# The run page's script that draws every ``[data-vega-chart]`` (frontend/src/charts.ts).
CHARTS_ENTRY = "src/charts.ts"


@renderer("chart", "pages/outputs/chart.html")
def chart_view(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A Vega-Lite spec to draw in the page (``chart_figure.html``), with its title and
    description in words for the moment before the script draws it (or without scripts)."""
    if not isinstance(spec, Mapping):
        return {"has_content": False}
    data = spec.get("data") if isinstance(spec.get("data"), Mapping) else {}
    values = data.get("values") if isinstance(data.get("values"), list) else []
    title = spec.get("title")
    return {
        "spec": dict(spec),
        "title": title.get("text") if isinstance(title, Mapping) else title,
        "description": spec.get("description") if isinstance(spec.get("description"), str) else "",
        "points": len(values),
        "has_content": bool(spec.get("mark") or spec.get("layer") or spec.get("concat")),
    }


# Responsible AI reports (pipelines.blocks.rai): the numbers people act on, first.
RAI_HEADLINES = (
    "label_rate_difference", "label_rate_ratio",
    "demographic_parity_difference", "demographic_parity_ratio", "equalized_odds_difference",
    "mae_difference", "mae_ratio", "expected_value",
)  # fmt: skip
RAI_ABOUT = ("method", "output", "scoring", "sensitive_column", "label", "target", "rows", "resamples", "confidence")
MAX_IMPORTANCES_SHOWN = 20


def _interval_text(ci: Any) -> str:
    if isinstance(ci, list) and len(ci) == 2 and all(isinstance(v, int | float) for v in ci):
        return f"{ci[0]:.3g} – {ci[1]:.3g}"
    return ""


@renderer("bias", "pages/outputs/rai.html")
@renderer("fairness", "pages/outputs/rai.html")
@renderer("explanation", "pages/outputs/rai.html")
def rai_view(report: Mapping[str, Any]) -> dict[str, Any]:
    """A bias, fairness or explanation report: its parity numbers with their intervals, the
    metrics by group as a table, warnings, importances and the report's charts."""
    intervals = report.get("ci") if isinstance(report.get("ci"), Mapping) else {}
    headlines = [
        {"name": name, "value": report[name], "ci": _interval_text(intervals.get(name))}
        for name in RAI_HEADLINES
        if isinstance(report.get(name), int | float)
    ]
    about = [(name, report[name]) for name in RAI_ABOUT if isinstance(report.get(name), str | int | float)]
    groups = report.get("by_group") if isinstance(report.get("by_group"), Mapping) else {}
    metrics: list[str] = []
    for values in groups.values():
        if isinstance(values, Mapping):
            metrics += [k for k, v in values.items() if isinstance(v, int | float) and k not in metrics]
    rows = []
    for group, values in groups.items():
        values = values if isinstance(values, Mapping) else {}
        ci = values.get("ci") if isinstance(values.get("ci"), Mapping) else {}
        rows.append(
            {
                "group": group,
                "cells": [
                    {"value": values.get(m), "ci": _interval_text(ci.get(m) or values.get(f"{m}_ci"))}
                    for m in metrics
                ],
            }
        )
    importances = [i for i in report.get("importances") or [] if isinstance(i, Mapping)]
    listed = report.get("charts") if isinstance(report.get("charts"), list) else []
    charts = [c for c in (chart_view(spec) for spec in listed) if c["has_content"]]
    warnings = [w for w in report.get("warnings") or [] if isinstance(w, str)]
    return {
        "headlines": headlines,
        "about": about,
        "note": report.get("note") if isinstance(report.get("note"), str) else "",
        "metrics": metrics,
        "groups": rows,
        "warnings": warnings,
        "importances": importances[:MAX_IMPORTANCES_SHOWN],
        "importances_total": len(importances),
        "charts": charts,
        "has_content": bool(headlines or rows or importances or charts),
    }


@renderer("report", "pages/outputs/json.html")
@renderer(FALLBACK_KIND, "pages/outputs/json.html")
def json_view(values: Mapping[str, Any]) -> dict[str, Any]:
    """Any other JSON output: its scalar fields as rows, the rest as indented JSON."""
    import json

    scalars = [(k, v) for k, v in values.items() if not isinstance(v, dict | list)]
    nested = {k: v for k, v in values.items() if isinstance(v, dict | list)}
    return {
        "scalars": scalars,
        "nested": json.dumps(nested, indent=2, default=str) if nested else "",
        "has_content": bool(values),
    }
