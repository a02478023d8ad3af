"""Read queries for the registry, deployments and their last-hour statistics."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import connection
from django.db.models import Aggregate, Count, FloatField, Q, QuerySet
from django.utils import timezone

from ..access import member_role, require_role, workspace_ids_for
from ..errors import NotFound
from ..models import (
    Deployment,
    DeploymentKey,
    DeploymentRevision,
    ModelVersion,
    PredictionLog,
    Role,
    Run,
)


def model_version_list(*, user, name: str | None = None, workspace_id: int | None = None) -> QuerySet[ModelVersion]:
    versions = ModelVersion.objects.filter(registered_model__workspace_id__in=workspace_ids_for(user))
    if name:
        versions = versions.filter(registered_model__name=name)
    if workspace_id is not None:
        versions = versions.filter(registered_model__workspace_id=workspace_id)
    return versions.select_related("registered_model", "created_by", "run").order_by(
        "registered_model__name", "-number"
    )


def model_version_get(*, user, version_id: int, role: str = Role.VIEWER, field: str | None = None) -> ModelVersion:
    """The model version, if ``user`` has ``role`` in its workspace.

    A version of a workspace the user is not in answers exactly like a missing
    one (NotFound). ``field`` names the request field that held the id; the
    message then names the id too, since it came from a body, not the URL.
    """
    version = (
        ModelVersion.objects.select_related(
            "registered_model", "created_by", "run", "pipeline_version__pipeline"
        )
        .filter(pk=version_id)
        .first()
    )
    if version is None or member_role(user, version.registered_model.workspace_id) is None:
        if field:
            raise NotFound(f"model version {version_id} not found", details={"field": field})
        raise NotFound("model version not found")
    require_role(user, version.registered_model.workspace_id, role, what="model version")
    return version


def model_versions_by_node(*, run: Run) -> dict[str, list[ModelVersion]]:
    """{node id: the versions registered from that step of ``run``, oldest first} (one query)."""
    by_node: dict[str, list[ModelVersion]] = {}
    versions = ModelVersion.objects.filter(run=run).select_related("registered_model").order_by("pk")
    for version in versions:
        by_node.setdefault(version.node_id, []).append(version)
    return by_node


def model_version_deployments(*, version: ModelVersion) -> list[Deployment]:
    return list(
        Deployment.objects.filter(current_revision__model_version=version).select_related(
            "current_revision"
        )
    )


def deployment_list(*, user) -> QuerySet[Deployment]:
    return Deployment.objects.filter(workspace_id__in=workspace_ids_for(user)).select_related(
        "current_revision__model_version__registered_model", "current_revision__created_by"
    )


class _Percentile95(Aggregate):
    """PostgreSQL's ordered-set aggregate, usable per group in an ORM query."""

    template = "percentile_cont(0.95) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def deployment_traffic(*, deployments: list[Deployment], hours: float = 1.0) -> dict[int, dict[str, Any]]:
    """{deployment id: requests, errors, error_rate, p95_ms over the last ``hours``} for
    all ``deployments`` in one query (a list page must not ask once per row).

    A deployment without requests in the window is absent; p95 is PostgreSQL's
    ``percentile_cont`` (None on other databases).
    """
    ids = [d.pk for d in deployments]
    if not ids:
        return {}
    since = timezone.now() - timedelta(hours=hours)
    rows = (
        PredictionLog.objects.filter(deployment_id__in=ids, created_at__gte=since)
        .values("deployment_id")
        .annotate(requests=Count("id"), errors=Count("id", filter=Q(status__gte=400)))
    )
    if connection.vendor == "postgresql":
        rows = rows.annotate(p95_ms=_Percentile95("latency_ms"))
    traffic: dict[int, dict[str, Any]] = {}
    for row in rows.order_by():
        total = row["requests"]
        p95 = row.get("p95_ms")
        traffic[row["deployment_id"]] = {
            "requests": total,
            "errors": row["errors"],
            "error_rate": row["errors"] / total if total else 0.0,
            "p95_ms": round(p95, 1) if p95 is not None else None,
        }
    return traffic


def deployment_get(*, user, name: str, role: str = Role.VIEWER) -> Deployment:
    deployment = None if "\x00" in name else (
        Deployment.objects.select_related(
            "current_revision__model_version__registered_model", "current_revision__created_by"
        )
        .filter(name=name)
        .first()
    )
    if deployment is None:
        raise NotFound(f"deployment {name!r} not found")
    require_role(user, deployment.workspace_id, role, what="deployment")
    return deployment


def deployment_key_list(*, deployment: Deployment) -> list[DeploymentKey]:
    return list(deployment.keys.select_related("created_by"))


def deployment_revisions(*, deployment: Deployment) -> list[DeploymentRevision]:
    return list(
        deployment.revisions.select_related(
            "model_version__registered_model", "created_by", "restores"
        ).order_by("-number")
    )


def deployment_stats(*, deployment: Deployment, hours: float = 1.0) -> dict[str, Any]:
    """Requests, error rate and p50/p95 latency (ms) over the last ``hours``.

    Uses the (deployment, -created_at) index; percentiles are computed by
    PostgreSQL (``percentile_cont``) or, elsewhere, in Python.
    """
    since = timezone.now() - timedelta(hours=hours)
    logs = PredictionLog.objects.filter(deployment=deployment, created_at__gte=since)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT count(*),
                       count(*) FILTER (WHERE status >= 400),
                       percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms),
                       percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms),
                       coalesce(sum(n_rows) FILTER (WHERE status < 400), 0),
                       count(*) FILTER (WHERE label IS NOT NULL)
                FROM pipelines_predictionlog
                WHERE deployment_id = %s AND created_at >= %s
                """,
                [deployment.pk, since],
            )
            total, errors, p50, p95, rows, labeled = cursor.fetchone()
    else:
        latencies = sorted(logs.values_list("latency_ms", flat=True)[:200_000])
        total = len(latencies)
        errors = logs.filter(status__gte=400).count()
        rows = sum(logs.filter(status__lt=400).values_list("n_rows", flat=True))
        labeled = logs.filter(label__isnull=False).count()
        p50 = _percentile(latencies, 0.5)
        p95 = _percentile(latencies, 0.95)
    return {
        "window_hours": hours,
        "requests": total,
        "rows": int(rows or 0),
        "errors": errors,
        "error_rate": (errors / total) if total else 0.0,
        "p50_ms": round(p50, 3) if p50 is not None else None,
        "p95_ms": round(p95, 3) if p95 is not None else None,
        "labeled": labeled,
    }


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    pos = (len(values) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def prediction_log_list(*, deployment: Deployment, limit: int = 50) -> list[PredictionLog]:
    return list(deployment.logs.select_related("model_version").order_by("-created_at", "-id")[:limit])
