"""Writing pipelines: create, edit with optimistic concurrency, snapshot versions."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import transaction
from django.db.models import F, ProtectedError
from django.utils import timezone

from ..errors import ApplicationError, Conflict
from ..models import Pipeline, PipelineVersion, Run, Workspace
from .graphs import graph_check_format

MAX_NAME = 200


def graph_hash(graph: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(graph, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def pipeline_create(
    *, workspace: Workspace, user, name: str, description: str = "", graph: dict | None = None
) -> Pipeline:
    graph = graph if graph is not None else {"nodes": [], "edges": []}
    graph_check_format(graph)
    return Pipeline.objects.create(
        workspace=workspace, name=name, description=description, graph=graph, created_by=user
    )


def pipeline_update(
    *, pipeline: Pipeline, user, expected_version: int, **fields: Any
) -> Pipeline:
    """Apply ``fields`` (name, description, graph) if nobody saved since ``expected_version``.

    The write is one conditional UPDATE on (id, version): two editors saving
    from the same version cannot both win, and the loser gets a Conflict naming
    the current version instead of silently overwriting.
    """
    allowed = {"name", "description", "graph"}
    unknown = set(fields) - allowed
    if unknown:
        raise ApplicationError(f"cannot change {', '.join(sorted(unknown))}")
    if "graph" in fields:
        graph_check_format(fields["graph"])
    updated = Pipeline.objects.filter(pk=pipeline.pk, version=expected_version).update(
        version=F("version") + 1, updated_at=timezone.now(), **fields
    )
    if not updated:
        current = Pipeline.objects.filter(pk=pipeline.pk).values_list("version", flat=True).first()
        raise Conflict(
            f"this pipeline was saved by someone else (now at version {current}, "
            f"you edited version {expected_version}); reload it and apply your changes again",
            details={"current_version": current, "your_version": expected_version},
        )
    pipeline.refresh_from_db()
    return pipeline


def pipeline_delete(*, pipeline: Pipeline) -> None:
    """Delete the pipeline with its versions and runs.

    Runs go first: a run pins its version (PROTECT), which would otherwise stop the
    cascade with a 500. Raises Conflict (409) when something outside the pipeline
    still needs one of its versions, e.g. a registered model version.
    """
    try:
        with transaction.atomic():
            Run.objects.filter(pipeline=pipeline).delete()
            pipeline.delete()
    except ProtectedError as exc:
        kinds = sorted({type(obj)._meta.verbose_name_plural for obj in exc.protected_objects})
        raise Conflict(
            f"the pipeline cannot be deleted while {', '.join(kinds)} still refer to it"
        ) from exc


def pipeline_version_snapshot(*, pipeline: Pipeline, user, message: str = "") -> PipelineVersion:
    """Freeze the current draft; reuse the latest version if the graph is unchanged."""
    digest = graph_hash(pipeline.graph)
    # No savepoint: inside a caller's transaction (run_start) it would cost two round trips.
    with transaction.atomic(savepoint=False):
        latest = (
            PipelineVersion.objects.select_for_update()
            .filter(pipeline=pipeline)
            .order_by("-number")
            .first()
        )
        if latest is not None and latest.graph_hash == digest:
            return latest
        return PipelineVersion.objects.create(
            pipeline=pipeline,
            number=(latest.number + 1) if latest else 1,
            graph=pipeline.graph,
            graph_hash=digest,
            message=message,
            created_by=user,
        )
