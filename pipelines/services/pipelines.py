"""Writing pipelines: create, edit with optimistic concurrency, snapshot versions."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import transaction
from django.db.models import F, ProtectedError, RestrictedError
from django.utils import timezone

from ..errors import ApplicationError, Conflict
from ..inputs import refuse_nul
from ..models import ModelVersion, Pipeline, PipelineVersion, Run, Workspace
from .audit import audit_record
from .graphs import graph_check_format

MAX_NAME = 200


def name_clean(name: str, *, field: str = "name") -> str:
    """``name`` without surrounding blanks; refused (400 naming ``field``) when empty, too long or holding NUL."""
    refuse_nul(name, field=field)
    name = name.strip()
    if not name:
        raise ApplicationError(f"{field} must not be blank", details={"field": field})
    if len(name) > MAX_NAME:
        raise ApplicationError(f"{field} can have at most {MAX_NAME} characters", details={"field": field})
    return name


def copy_name(name: str, taken: set[str]) -> str:
    """``"<name> (copy)"``, or ``"<name> (copy 2)"``, ``(copy 3)`` … when that is in ``taken``;
    ``name`` is shortened so the result fits MAX_NAME."""
    for n in range(1, len(taken) + 2):
        suffix = " (copy)" if n == 1 else f" (copy {n})"
        candidate = name[: MAX_NAME - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
    raise AssertionError("unreachable: len(taken) + 1 candidates cannot all be taken")


def _lock_workspace(workspace_id: int) -> None:
    """Serialise name checks in one workspace (call inside a transaction)."""
    Workspace.objects.select_for_update(no_key=True).filter(pk=workspace_id).exists()


def _refuse_taken_name(*, workspace_id: int, name: str, pipeline_id: int | None = None) -> None:
    others = Pipeline.objects.filter(workspace_id=workspace_id, name=name)
    if pipeline_id is not None:
        others = others.exclude(pk=pipeline_id)
    if others.exists():
        raise Conflict(
            f"a pipeline named {name!r} already exists in this workspace; choose another name",
            details={"field": "name"},
        )


def graph_hash(graph: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(graph, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def pipeline_create(
    *, workspace: Workspace, user, name: str, description: str = "", graph: dict | None = None
) -> Pipeline:
    graph = graph if graph is not None else {"nodes": [], "edges": []}
    graph_check_format(graph)
    with transaction.atomic():
        pipeline = Pipeline.objects.create(
            workspace=workspace, name=name, description=description, graph=graph, created_by=user
        )
        audit_record(workspace_id=workspace.pk, user=user, action="pipeline.create", target=pipeline,
                     details={"name": name})
    return pipeline


def pipeline_update(
    *, pipeline: Pipeline, user, expected_version: int, name: str | None = None,
    description: str | None = None, graph: dict[str, Any] | None = None,
) -> Pipeline:
    """Apply the given ``name``, ``description`` and ``graph`` (None: unchanged) if nobody
    saved since ``expected_version``.

    The write is one conditional UPDATE on (id, version): two editors saving
    from the same version cannot both win, and the loser gets a Conflict naming
    the current version instead of silently overwriting.

    A new ``name`` must not be another pipeline's in the workspace (409 naming
    ``name``, beside the stale-version 409 that names ``current_version``); the
    pipeline's own name is always accepted.
    """
    fields: dict[str, Any] = {
        key: value
        for key, value in (("name", name), ("description", description), ("graph", graph))
        if value is not None
    }
    if "graph" in fields:
        graph_check_format(fields["graph"])
    with transaction.atomic():
        if "name" in fields:
            fields["name"] = name_clean(fields["name"])
            # A stale write is a 409 whatever its name: the check below is for current writes.
            if fields["name"] != pipeline.name and pipeline.version == expected_version:
                _lock_workspace(pipeline.workspace_id)
                _refuse_taken_name(workspace_id=pipeline.workspace_id, name=fields["name"], pipeline_id=pipeline.pk)
        updated = Pipeline.objects.filter(pk=pipeline.pk, version=expected_version).update(
            version=F("version") + 1, updated_at=timezone.now(), **fields
        )
        if updated:
            audit_record(workspace_id=pipeline.workspace_id, user=user, action="pipeline.update", target=pipeline,
                         details={"fields": sorted(fields), "version": expected_version + 1})
    if not updated:
        current = Pipeline.objects.filter(pk=pipeline.pk).values_list("version", flat=True).first()
        raise Conflict(
            f"this pipeline was saved by someone else (now at version {current}, "
            f"you edited version {expected_version}); reload it and apply your changes again",
            details={"current_version": current, "your_version": expected_version},
        )
    pipeline.refresh_from_db()
    return pipeline


def pipeline_duplicate(*, pipeline: Pipeline, user, name: str | None = None) -> Pipeline:
    """A new pipeline in the same workspace with ``pipeline``'s draft graph and description.

    It starts at version 1 with no runs and no history. ``name`` defaults to
    ``"<name> (copy)"`` (``(copy 2)`` … if taken); a given name must be free in the workspace.
    """
    with transaction.atomic():
        _lock_workspace(pipeline.workspace_id)
        if name is None:
            taken = set(
                Pipeline.objects.filter(
                    workspace_id=pipeline.workspace_id, name__startswith=pipeline.name[: MAX_NAME - 12]
                ).values_list("name", flat=True)
            )
            name = copy_name(pipeline.name, taken)
        else:
            name = name_clean(name)
            _refuse_taken_name(workspace_id=pipeline.workspace_id, name=name)
        copy = Pipeline.objects.create(
            workspace_id=pipeline.workspace_id,
            name=name,
            description=pipeline.description,
            graph=pipeline.graph,
            created_by=user,
        )
        audit_record(workspace_id=pipeline.workspace_id, user=user, action="pipeline.create", target=copy,
                     details={"name": name, "duplicate_of": pipeline.pk})
        return copy


def pipeline_models(*, pipeline: Pipeline) -> list[ModelVersion]:
    """Registered model versions trained by a run of ``pipeline`` (their lineage points into it)."""
    return list(
        ModelVersion.objects.filter(run__pipeline=pipeline)
        .select_related("registered_model")
        .order_by("registered_model__name", "number")
    )


def model_names(versions: list[ModelVersion]) -> str:
    """``"churn v1, v2; fraud v4"``: registered model versions as people name them."""
    by_model: dict[str, list[str]] = {}
    for v in versions:
        by_model.setdefault(v.registered_model.name, []).append(f"v{v.number}")
    return "; ".join(f"{name} {', '.join(numbers)}" for name, numbers in by_model.items())


def pipeline_delete(*, pipeline: Pipeline, user=None) -> None:
    """Delete the pipeline with its versions and runs.

    Refused (409, naming them in ``models``) while registered model versions were
    trained by one of its runs: deleting would cut their lineage (run, step,
    pipeline version), which model cards and monitoring read. Runs go first: a
    run pins its version (PROTECT), which would otherwise stop the cascade with a
    500. Raises Conflict (409) when anything else outside the pipeline still
    needs one of its versions.
    """
    models = pipeline_models(pipeline=pipeline)
    if models:
        raise Conflict(
            f"the pipeline {pipeline.name!r} trained registered models ({model_names(models)}); "
            "it is kept so their lineage stays complete",
            details={"models": [_model_ref(v) for v in models]},
        )
    try:
        with transaction.atomic():
            pipeline_id, name = pipeline.pk, pipeline.name
            Run.objects.filter(pipeline=pipeline).delete()
            pipeline.delete()
            audit_record(workspace_id=pipeline.workspace_id, user=user, action="pipeline.delete",
                         target_type="pipeline", target_id=pipeline_id, details={"name": name})
    except (ProtectedError, RestrictedError) as exc:
        referring = getattr(exc, "protected_objects", None) or exc.restricted_objects
        kinds = sorted({type(obj)._meta.verbose_name_plural for obj in referring})
        raise Conflict(
            f"the pipeline cannot be deleted while {', '.join(kinds)} still refer to it"
        ) from exc


def pipeline_version_snapshot(*, pipeline: Pipeline, user, message: str = "", audit: bool = True) -> PipelineVersion:
    """Freeze the current draft; reuse the latest version if the graph is unchanged.

    A new version is recorded in the audit trail (``pipeline.version``), unless ``audit`` is
    false: then the caller records it last in its transaction (``new_version`` is set).
    """
    digest = graph_hash(pipeline.graph)
    # No savepoint: inside a caller's transaction (run_start) it would cost two round trips.
    with transaction.atomic(savepoint=False):
        # Concurrent snapshots of one pipeline take turns on its row. Locking the latest
        # version's row instead would not do: before the first version there is no row to
        # lock, and a waiter would read the old latest again, not the version just added;
        # both would insert the same number (a unique-constraint 500).
        Pipeline.objects.select_for_update(no_key=True).filter(pk=pipeline.pk).values_list("pk").first()
        latest = (
            PipelineVersion.objects
            .filter(pipeline=pipeline)
            .order_by("-number")
            .first()
        )
        if latest is not None and latest.graph_hash == digest:
            return latest
        version = PipelineVersion.objects.create(
            pipeline=pipeline,
            number=(latest.number + 1) if latest else 1,
            graph=pipeline.graph,
            graph_hash=digest,
            message=message,
            created_by=user,
        )
        version.new_version = True
        if audit:
            audit_version(version, user)
        return version


def audit_version(version: PipelineVersion, user) -> None:
    audit_record(workspace_id=version.pipeline.workspace_id, user=user, action="pipeline.version",
                 target=version.pipeline, details={"version": version.number, "graph_hash": version.graph_hash})


def _model_ref(version: ModelVersion) -> dict[str, Any]:
    return {"id": version.pk, "name": version.registered_model.name, "version": version.number}
