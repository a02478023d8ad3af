"""Server-rendered registry pages: models list, model version (model card), deployment.

Writes (deploy, rollback, keys, "try it") go through the JSON API from small
scripts on the page, with the session and its CSRF token.
"""

from __future__ import annotations

import json
from collections import OrderedDict

from django.shortcuts import render
from django.urls import path

from ..selectors.delivery import version_aliases
from ..selectors.registry import (
    deployment_get,
    deployment_key_list,
    deployment_list,
    deployment_revisions,
    deployment_stats,
    deployment_traffic,
    model_version_deployments,
    model_version_get,
    model_version_list,
    prediction_log_list,
)
from .common import can_edit as _can_edit
from .common import page as _page
from .delivery import deployment_delivery_context, model_delivery_context
from .outputs import render_output


def _headline(metrics: dict) -> dict | None:
    for node, values in (metrics or {}).items():
        if isinstance(values, dict) and values.get("headline"):
            return {"node": node, **values["headline"]}
    return None


@_page
def model_list_page(request):
    groups: OrderedDict[str, dict] = OrderedDict()
    versions = list(model_version_list(user=request.user))
    aliases = version_aliases(versions=versions)  # one query for every version's aliases
    for version in versions:
        version.alias_names = aliases.get(version.pk, [])
        key = f"{version.registered_model.workspace_id}:{version.registered_model.name}"
        group = groups.setdefault(key, {"model": version.registered_model, "versions": []})
        version.headline = _headline(version.metrics)
        group["versions"].append(version)
    deployments = list(deployment_list(user=request.user))
    return render(
        request,
        "registry/model_list.html",
        {"nav": "models", "groups": list(groups.values()), "deployments": deployments},
    )


def _deployment_status(deployment, traffic: dict | None) -> tuple[str, str]:
    """(label, tone) of a deployment for the index: what it serves and how it answers."""
    if deployment.current_revision_id is None:
        return "Not serving", "muted"
    if traffic and traffic["errors"] and traffic["error_rate"] >= 0.05:
        return "Errors", "failed"
    if traffic:
        return "Serving", "succeeded"
    return "Idle", "queued"


@_page
def deployment_list_page(request):
    """Every deployment of the user's workspaces: model version, status, last hour's traffic.

    A fixed number of queries whatever the number of deployments (pinned in a test).
    """
    deployments = list(deployment_list(user=request.user).select_related("workspace"))
    traffic = deployment_traffic(deployments=deployments, hours=1.0)
    rows = []
    for deployment in deployments:
        stats = traffic.get(deployment.pk)
        label, tone = _deployment_status(deployment, stats)
        rows.append({"deployment": deployment, "traffic": stats, "status": label, "tone": tone})
    return render(request, "registry/deployment_list.html", {"nav": "deployments", "rows": rows})


@_page
def model_version_page(request, version_id: int):
    version = model_version_get(user=request.user, version_id=version_id)
    example = version.signature.get("example", {})
    columns = [
        {"name": c["name"], "dtype": c["dtype"], "example": example.get(c["name"])}
        for c in version.signature.get("inputs", [])
    ]
    return render(
        request,
        "registry/model_version.html",
        {
            "nav": "models",
            "version": version,
            "model": version.registered_model,
            "columns": columns,
            "steps": [{**step, "short": step["class"].rsplit(".", 1)[-1]} for step in version.steps],
            "headline": _headline(version.metrics),
            # Each scoring step's metrics through the same renderer as on the run page.
            "metric_outputs": [
                render_output(node, "metrics", values, port_type="metrics")
                for node, values in (version.metrics or {}).items()
                if isinstance(values, dict)
            ],
            "deployments": model_version_deployments(version=version),
            "can_edit": _can_edit(request.user, version.registered_model.workspace_id),
            "default_name": version.registered_model.name.lower().replace("_", "-"),
            **model_delivery_context(request.user, version),
        },
    )


@_page
def deployment_page(request, name: str):
    deployment = deployment_get(user=request.user, name=name)
    revision = deployment.current_revision
    version = revision.model_version if revision else None
    signature = version.signature if version else {"inputs": [], "example": {}}
    stored = signature.get("example", {})
    # JSONB does not keep key order: show the example in signature order.
    example = {c["name"]: stored.get(c["name"]) for c in signature.get("inputs", [])}
    base = request.build_absolute_uri("/").rstrip("/")
    predict_url = f"{base}/api/deployments/{name}/predict"
    body = json.dumps({"instances": [example]}, indent=None)
    curl = (
        f"curl -X POST {predict_url} \\\n"
        f"  -H \"Authorization: Bearer $MLOPS_KEY\" \\\n"
        f"  -H 'Content-Type: application/json' \\\n"
        f"  -d '{body}'"
    )
    python = (
        "import os, requests\n\n"
        f"response = requests.post(\n    \"{predict_url}\",\n"
        "    headers={\"Authorization\": f\"Bearer {os.environ['MLOPS_KEY']}\"},\n"
        f"    json={{\"instances\": [{json.dumps(example)}]}},\n    timeout=10,\n)\n"
        "print(response.json()[\"predictions\"])"
    )
    can_edit = _can_edit(request.user, deployment.workspace_id)
    return render(
        request,
        "registry/deployment.html",
        {
            "nav": "deployments",
            "deployment": deployment,
            "revision": revision,
            "version": version,
            "revisions": deployment_revisions(deployment=deployment),
            "stats": deployment_stats(deployment=deployment),
            "keys": deployment_key_list(deployment=deployment) if can_edit else [],
            "logs": prediction_log_list(deployment=deployment, limit=15),
            "can_edit": can_edit,
            "fields": [
                {"name": c["name"], "dtype": c["dtype"], "example": example.get(c["name"]),
                 "kind": "number" if c["dtype"].startswith(("int", "uint", "float")) else
                 ("bool" if c["dtype"].startswith("bool") else "text")}
                for c in signature.get("inputs", [])
            ],
            "endpoints": {
                "Predict (JSON, MLflow bodies)": predict_url,
                "Feedback (ground truth)": f"{base}/api/deployments/{name}/feedback",
                "Open Inference Protocol: infer": f"{base}/v2/models/{name}/infer",
                "Open Inference Protocol: metadata": f"{base}/v2/models/{name}",
            },
            "curl": curl,
            "python": python,
            **deployment_delivery_context(deployment),
        },
    )


urlpatterns = [
    path("models/", model_list_page, name="page-models"),
    path("models/<int:version_id>/", model_version_page, name="page-model-version"),
    path("deployments/", deployment_list_page, name="page-deployments"),
    path("deployments/<str:name>/", deployment_page, name="page-deployment"),
]
