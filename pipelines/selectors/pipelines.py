from __future__ import annotations

from django.db.models import Count, OuterRef, QuerySet, Subquery

from ..access import require_role, workspace_ids_for
from ..errors import NotFound
from ..models import Pipeline, PipelineVersion, Role, Run


def pipeline_list(*, user, workspace_id: int | None = None) -> QuerySet[Pipeline]:
    ids = workspace_ids_for(user)
    if workspace_id is not None:
        ids = [i for i in ids if i == workspace_id]
    last_run = Run.objects.filter(pipeline=OuterRef("pk")).order_by("-created_at", "-id")
    return (
        Pipeline.objects.filter(workspace_id__in=ids)
        .select_related("workspace", "created_by")
        .annotate(
            run_count=Count("runs", distinct=True),
            last_run_id=Subquery(last_run.values("pk")[:1]),
            last_run_status=Subquery(last_run.values("status")[:1]),
            last_run_at=Subquery(last_run.values("created_at")[:1]),
        )
        .order_by("-updated_at", "-id")
    )


def pipeline_get(*, user, pipeline_id: int, role: str = Role.VIEWER) -> Pipeline:
    pipeline = Pipeline.objects.select_related("workspace").filter(pk=pipeline_id).first()
    if pipeline is None:
        raise NotFound("pipeline not found")
    require_role(user, pipeline.workspace_id, role, what="pipeline")
    return pipeline


def pipeline_versions(*, pipeline: Pipeline) -> QuerySet[PipelineVersion]:
    return pipeline.versions.select_related("created_by").annotate(run_count=Count("runs"))


def pipeline_version_get(*, pipeline: Pipeline, number: int) -> PipelineVersion:
    """Version ``number`` of ``pipeline`` (access already checked); NotFound when it has none."""
    version = pipeline.versions.filter(number=number).first()
    if version is None:
        raise NotFound(f"pipeline {pipeline.pk} has no version {number}")
    return version
