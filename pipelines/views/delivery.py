"""What the registry pages show about delivery: gates, aliases, gate results, promotions, traffic.

The pages (``views.registry``) add these to their context; writes go through the
JSON API (gates, promote, traffic) from the scripts in the included templates.
"""

from __future__ import annotations

from typing import Any

from ..access import has_role
from ..models import Deployment, ModelVersion, Role
from ..selectors.delivery import gate_evaluations, model_aliases, promotion_history, traffic_changes
from ..services.gates import FAIRNESS, KINDS, PARAMS, reported_metrics
from ..services.rollout import rollout_compare

KIND_LABELS = {
    "metric_min": "Metric floor",
    "no_regression": "No regression vs champion",
    "schema_compatible": "Schema compatible with the deployment",
    "min_rows": "Minimum training rows",
    "latency_p95_ms": "Latency p95 (ms)",
    "fairness": "Fairness",
}


def model_delivery_context(user, version: ModelVersion) -> dict[str, Any]:
    model = version.registered_model
    aliases = model_aliases(registered_model=model)
    versions = list(model.versions.all())
    return {
        "aliases": aliases,
        "version_aliases": [a.alias for a in aliases if a.model_version_id == version.pk],
        "gates": [{**g, "label": KIND_LABELS.get(g["kind"], g["kind"])} for g in (model.gates or [])],
        "gate_editor": {
            "checks": model.gates or [],
            "kinds": [{"kind": k, "label": KIND_LABELS[k], "params": list(PARAMS[k])} for k in KINDS],
            "metrics": sorted(reported_metrics(versions)),
            "fairness_metrics": list(FAIRNESS),
        },
        "evaluations": gate_evaluations(version=version, limit=5),
        "history": list(promotion_history(registered_model=model)[:50]),
        "is_admin": has_role(user, model.workspace_id, Role.ADMIN),
        "model_name": model.name,
    }


def deployment_delivery_context(deployment: Deployment) -> dict[str, Any]:
    traffic = deployment.traffic or {}
    split = traffic.get("split") or ({deployment.alias: 100} if deployment.alias else {})
    aliases = (
        {a.alias: a.model_version for a in model_aliases(registered_model=deployment.model)}
        if deployment.model_id else {}
    )
    observed = rollout_compare(deployment=deployment) if traffic.get("split") else {}
    return {
        "canary_chart": _canary_chart(observed),
        "follows": deployment.model if deployment.model_id else None,
        "split_rows": [
            {"alias": alias, "percent": percent, "version": aliases.get(alias), "observed": observed.get(alias)}
            for alias, percent in split.items()
        ],
        "shadow": traffic.get("shadow"),
        "shadow_version": aliases.get(traffic.get("shadow")) if traffic.get("shadow") else None,
        "alias_names": sorted(aliases),
        "traffic_changes": traffic_changes(deployment=deployment, limit=10),
    }


def _canary_chart(observed: dict[str, dict]) -> dict | None:
    """Error rate and p95 latency of each side of a canary, side by side (Vega-Lite)."""
    values = [
        {"alias": alias, "error rate (%)": round(100 * s["error_rate"], 2), "p95 latency (ms)": s["p95_ms"],
         "requests": s["requests"]}
        for alias, s in observed.items() if s["requests"]
    ]
    if len(values) < 2:
        return None

    aliases = [v["alias"] for v in values]
    worst_error = max(v["error rate (%)"] for v in values)

    def bars(field: str, domain: list | None = None) -> dict:
        return {
            "width": 220, "height": 90, "mark": {"type": "bar", "tooltip": True},
            "encoding": {
                "y": {"field": "alias", "type": "nominal", "title": None, "sort": aliases},
                "x": {"field": field, "type": "quantitative", **({"scale": {"domain": domain}} if domain else {})},
                # The same colours as the traffic bar above the chart.
                "color": {"field": "alias", "type": "nominal", "legend": None,
                          "scale": {"domain": aliases, "range": ["#4f46e5", "#9a6700", "#12805c"][:len(aliases)]}},
            },
        }

    return {
        "title": "Canary vs the followed alias",
        "description": "error rate and p95 latency of each side since the split was set",
        "spec": {
            "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
            "title": {"text": "Canary vs the followed alias"},
            "description": "error rate and p95 latency of each side since the split was set",
            "data": {"values": values},
            "hconcat": [bars("error rate (%)", [0, max(1.0, worst_error)]), bars("p95 latency (ms)")],
        },
    }
