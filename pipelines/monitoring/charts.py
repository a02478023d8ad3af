"""Vega-Lite specs for the monitoring pages, built from stored window reports.

Plain functions, plain JSON out (data inlined), like ``blocks.charts``: the page
embeds each spec and ``frontend/src/charts.ts`` draws it. Times are ISO 8601 UTC.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
WIDTH, HEIGHT = 520, 150
STATUS_COLOURS = {"domain": ["ok", "warning", "alert", "insufficient_data"],
                  "range": ["#16a34a", "#d97706", "#dc2626", "#9ca3af"]}

Spec = dict[str, Any]


def _spec(title: str, description: str, values: list[dict], **rest: Any) -> Spec:
    return {"$schema": SCHEMA, "title": title, "description": description, "width": WIDTH,
            "height": HEIGHT, "data": {"values": values}, **rest}


def _markers_layer(markers: list[dict[str, Any]]) -> list[Spec]:
    """Deploy and rollback revisions as dashed vertical rules (a layer per chart)."""
    if not markers:
        return []
    return [{
        "data": {"values": markers},
        "mark": {"type": "rule", "strokeDash": [4, 3], "strokeWidth": 1.5},
        "encoding": {
            "x": {"field": "at", "type": "temporal"},
            "color": {"field": "action", "type": "nominal", "title": "revision",
                      "scale": {"domain": ["deploy", "rollback"], "range": ["#4f46e5", "#db2777"]}},
            "tooltip": [{"field": "label", "title": "revision"}, {"field": "at", "type": "temporal",
                                                                 "format": "%Y-%m-%d %H:%M", "title": "at"}],
        },
    }]


def signal_timeline(
    windows: list[dict[str, Any]], markers: list[dict[str, Any]], *, signal: str, title: str, unit: str = "",
    rule: float | None = None, rule_label: str = "", band: tuple[str, str] | None = None, fmt: str = ".3~g",
) -> Spec:
    """One signal over time: a point per window (coloured by the window's status) joined by a
    line, an optional reference rule (a threshold or the validation metric), an optional band
    (e.g. a confidence interval) and the deployment's revisions as vertical rules."""
    values = [
        {"start": w["start"], "end": w["end"], "value": w.get(signal), "status": w.get("status"),
         "low": w.get(band[0]) if band else None, "high": w.get(band[1]) if band else None}
        for w in windows
    ]
    x = {"field": "start", "type": "temporal", "title": None, "axis": {"format": "%b %d %H:%M", "labelAngle": 0}}
    y = {"field": "value", "type": "quantitative", "title": unit or signal, "scale": {"zero": False},
         "axis": {"format": fmt}}
    layers: list[Spec] = []
    if band:
        layers.append({"mark": {"type": "area", "opacity": 0.18, "color": "#4f46e5"},
                       "encoding": {"x": x, "y": {"field": "low", "type": "quantitative"},
                                    "y2": {"field": "high"}}})
    layers += [
        {"mark": {"type": "line", "color": "#94a3b8", "strokeWidth": 1.5}, "encoding": {"x": x, "y": y}},
        {"mark": {"type": "point", "filled": True, "size": 70},
         "encoding": {"x": x, "y": y,
                      "color": {"field": "status", "type": "nominal", "title": "window", "scale": STATUS_COLOURS},
                      "tooltip": [{"field": "start", "type": "temporal", "format": "%Y-%m-%d %H:%M", "title": "from"},
                                  {"field": "end", "type": "temporal", "format": "%Y-%m-%d %H:%M", "title": "to"},
                                  {"field": "value", "format": ".4~g", "title": title},
                                  {"field": "status"}]}},
    ]
    if rule is not None:
        layers.append({"data": {"values": [{"rule": rule, "label": rule_label}]},
                       "mark": {"type": "rule", "color": "#dc2626", "strokeDash": [6, 4]},
                       "encoding": {"y": {"field": "rule", "type": "quantitative"},
                                    "tooltip": [{"field": "label"}, {"field": "rule", "format": ".4~g"}]}})
    layers += _markers_layer(markers)
    described = f"{title} per window" + (f"; dashed line: {rule_label} ({rule:.4g})" if rule is not None else "")
    return _spec(title, described, values, layer=layers, resolve={"scale": {"color": "independent"}})


def _bucket_text(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count}-{unit}" if count > 1 else unit
    return f"{seconds}-second"


def request_rate_points(windows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int | None]:
    """(one point per request bucket of every window: its start, end, requests and requests per
    minute; the bucket size in seconds, None when only older per-window rates were stored).

    Windows store their counts (``requests_by``, one SQL GROUP BY when computed); a window
    without them gives one point at its start with its average rate. A bucket two windows
    cover (a custom window over a calendar one) is counted once, from the later window."""
    points: dict[str, dict[str, Any]] = {}
    bucket_sizes = set()
    for w in windows:
        start, end = datetime.fromisoformat(w["start"]), datetime.fromisoformat(w["end"])
        by = w.get("requests_by")
        if not by:
            if w.get("request_rate_per_min") is not None:
                points[w["start"]] = {"start": w["start"], "end": w["end"], "requests": w.get("requests"),
                                      "rate": w["request_rate_per_min"]}
            continue
        size = by["bucket_seconds"]
        bucket_sizes.add(size)
        for i, count in enumerate(by["counts"]):
            begin = start + timedelta(seconds=size * i)
            finish = min(begin + timedelta(seconds=size), end)
            key = begin.isoformat().replace("+00:00", "Z")
            points[key] = {"start": key, "end": finish.isoformat().replace("+00:00", "Z"), "requests": count,
                           "rate": round(count / max((finish - begin).total_seconds() / 60, 1e-9), 4)}
    ordered = [points[k] for k in sorted(points)]
    return ordered, (bucket_sizes.pop() if len(bucket_sizes) == 1 else None)


def request_rate_chart(windows: list[dict[str, Any]], markers: list[dict[str, Any]]) -> Spec:
    """Requests per minute over time, averaged over each window's request buckets (an area under a
    line), with the deployment's revisions as vertical rules."""
    values, bucket = request_rate_points(windows)
    x = {"field": "start", "type": "temporal", "title": None, "axis": {"format": "%b %d %H:%M", "labelAngle": 0}}
    y = {"field": "rate", "type": "quantitative", "title": "requests / min", "axis": {"format": ".3~g"}}
    tooltip = [{"field": "start", "type": "temporal", "format": "%Y-%m-%d %H:%M", "title": "from"},
               {"field": "end", "type": "temporal", "format": "%Y-%m-%d %H:%M", "title": "to"},
               {"field": "requests", "title": "requests"}, {"field": "rate", "format": ".3~g", "title": "per minute"}]
    layers: list[Spec] = [
        {"mark": {"type": "area", "color": "#4f46e5", "opacity": 0.15, "interpolate": "step-after"},
         "encoding": {"x": x, "y": y}},
        {"mark": {"type": "line", "color": "#4f46e5", "strokeWidth": 1.5, "interpolate": "step-after",
                  "point": {"filled": True, "size": 14, "color": "#4f46e5"}},
         "encoding": {"x": x, "y": y, "tooltip": tooltip}},
        *_markers_layer(markers),
    ]
    per = f"per {_bucket_text(bucket)} bucket" if bucket else "over each window's buckets"
    return _spec("Request rate", f"Requests per minute, averaged {per}", values, layer=layers,
                 resolve={"scale": {"color": "independent"}})


def window_label(start: str, end: str) -> str:
    """"Nov 02" for a day or longer, "Nov 02 05:00" for shorter windows (ISO 8601 UTC in)."""
    begin, finish = datetime.fromisoformat(start), datetime.fromisoformat(end)
    return begin.strftime("%b %d") if (finish - begin).total_seconds() >= 86400 else begin.strftime("%b %d %H:%M")


def timeline_rows(windows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One flat row per window report, with the value of every signal the timelines draw."""
    rows = []
    for w in windows:
        drift, prediction = w.get("drift") or {}, w.get("prediction_drift") or {}
        performance, quality = w.get("performance") or {}, w.get("quality") or {}
        ci = performance.get("ci") or [None, None]
        rows.append({
            "start": w["start"], "end": w["end"], "status": w.get("status"), "n": w.get("n"),
            "drift_share": drift.get("share"), "prediction_psi": prediction.get("psi"),
            "performance": performance.get("value"), "ci_low": ci[0], "ci_high": ci[1],
            "quality_issues": len(quality.get("issues") or []) if quality.get("status") != "insufficient_data" else None,
            "latency_p95": (w.get("latency_ms") or {}).get("p95"), "error_rate": w.get("error_rate"),
        })
    return rows


def drift_heatmap(windows: list[dict[str, Any]]) -> Spec:
    """Feature × window: colour is PSI (comparable across features and methods), a dot marks
    the windows where the feature's own test said it drifted."""
    values = []
    for position, w in enumerate(windows):
        for f in (w.get("drift") or {}).get("features", []):
            values.append({"window": w["start"], "position": position, "label": window_label(w["start"], w["end"]), "feature": f["name"], "psi": f.get("psi"),
                           "score": f.get("score"), "method": f.get("method"), "threshold": f.get("threshold"),
                           "drifted": "drifted" if f.get("drifted") else "no drift"})
    x = {"field": "label", "type": "ordinal", "title": None, "sort": {"field": "position", "op": "min"},
         "axis": {"labelAngle": -40}}
    y = {"field": "feature", "type": "nominal", "title": None}
    tooltip = [{"field": "feature"}, {"field": "window", "type": "temporal", "format": "%Y-%m-%d %H:%M"},
               {"field": "method"}, {"field": "score", "format": ".4~g"}, {"field": "threshold"},
               {"field": "drifted"}, {"field": "psi", "format": ".3~g", "title": "PSI"}]
    spec = _spec(
        "Feature drift by window",
        "Each cell is one feature in one window: colour is its PSI (0.1 moderate, 0.25 significant); "
        "a dot marks a drift verdict by the column's test",
        values,
        layer=[
            {"mark": {"type": "rect", "stroke": "#fff", "strokeWidth": 1},
             "encoding": {"x": x, "y": y, "tooltip": tooltip,
                          "color": {"field": "psi", "type": "quantitative", "title": "PSI",
                                    "scale": {"scheme": "orangered", "domain": [0, 0.5], "clamp": True}}}},
            {"transform": [{"filter": "datum.drifted === 'drifted'"}],
             "mark": {"type": "point", "filled": True, "color": "#111827", "size": 30},
             "encoding": {"x": x, "y": y, "tooltip": tooltip}},
        ],
    )
    spec["height"] = {"step": 22}
    spec["width"] = {"step": 34} if len(windows) > 14 else WIDTH
    return spec


def distribution_overlay(window: dict[str, Any], features: list[dict[str, Any]]) -> Spec:
    """Reference and current shares of one feature, overlaid; a menu under the chart picks the feature."""
    values = []
    for f in features:
        dist = f.get("distribution") or {}
        if "edges" in dist:
            edges = dist["edges"]
            labels = [f"{edges[i]:.3g}–{edges[i + 1]:.3g}" for i in range(len(edges) - 1)]
        else:
            labels = dist.get("categories", [])
        for sample in ("reference", "current"):
            for order, (label, share) in enumerate(zip(labels, dist.get(sample, []), strict=False)):
                values.append({"feature": f["name"], "bin": label, "order": order, "share": share,
                               "sample": sample})
    names = [f["name"] for f in features]
    return _spec(
        "Reference vs current distribution",
        f"Share of rows per bin (numeric) or category, the reference "
        f"({(window.get('reference') or {}).get('label', 'training data')}) against the window from {window['start']}",
        values,
        params=[{"name": "feature", "value": names[0] if names else "",
                 "bind": {"input": "select", "options": names, "name": "Feature "}}],
        transform=[{"filter": "datum.feature === feature"}],
        mark={"type": "bar", "opacity": 0.55, "binSpacing": 0},
        encoding={
            "x": {"field": "bin", "type": "ordinal", "sort": {"field": "order", "op": "min"}, "title": None,
                  "axis": {"labelAngle": -40, "labelLimit": 90}},
            "y": {"field": "share", "type": "quantitative", "stack": None, "axis": {"format": "%"}, "title": "share"},
            "color": {"field": "sample", "type": "nominal", "title": None,
                      "scale": {"domain": ["reference", "current"], "range": ["#64748b", "#f97316"]}},
            "tooltip": [{"field": "feature"}, {"field": "bin"}, {"field": "sample"},
                        {"field": "share", "format": ".1%"}],
        },
        height=220,
    )
