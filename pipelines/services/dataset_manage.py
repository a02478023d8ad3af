"""Renaming, duplicating and deleting uploaded datasets without breaking what uses them.

A dataset is a name with versions (one ``Dataset`` row per upload). Pipelines
refer to it from ``dataset.upload`` nodes by name (or by the sha256 of one of
its uploads, as older graphs do); a run pins the upload it loaded in its step's
params (``{"dataset": sha256, "version", "name"}``), and a registered model's
lineage is that run. So:

- renaming renames every version and rewrites the name in the workspace's
  pipeline drafts (each such draft gets a new version, so an editor holding the
  old one is told on save instead of silently writing the old name back);
- deleting removes one version's row only, and is refused (409, naming them)
  while a pipeline draft resolves to that version or a registered model was
  trained by a run that loaded it. The stored table itself (an artifact shared
  by content) stays, so past runs, their outputs and their retries keep working;
- duplicating makes a new name whose version 1 is the same stored table (no copy
  of the bytes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ..errors import Conflict
from ..models import Dataset, ModelVersion, Pipeline, StepRun, Workspace
from .audit import audit_record
from .pipelines import copy_name, model_names, name_clean


@dataclass
class DatasetUsage:
    """What would break if one dataset version went away."""

    # [{"id", "name", "nodes": [node id, …]}]: drafts whose dataset.upload node resolves to the version now.
    pipelines: list[dict[str, Any]] = field(default_factory=list)
    models: list[ModelVersion] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.pipelines or self.models)

    def as_dict(self) -> dict[str, Any]:
        return {
            "pipelines": self.pipelines,
            "models": [
                {"id": v.pk, "name": v.registered_model.name, "version": v.number} for v in self.models
            ],
        }

    def message(self, dataset: Dataset) -> str:
        parts = []
        if self.pipelines:
            names = ", ".join(f"{p['name']!r} (node {', '.join(p['nodes'])})" for p in self.pipelines)
            one = len(self.pipelines) == 1
            parts.append(
                f"{'pipeline' if one else 'pipelines'} {names} {'loads' if one else 'load'} it; "
                "pin another version there or remove the node first"
            )
        if self.models:
            one = len(self.models) == 1
            parts.append(
                f"{'registered model' if one else 'registered models'} {model_names(self.models)} "
                f"{'was' if one else 'were'} trained on it and {'its' if one else 'their'} lineage points to it"
            )
        return f"{dataset.name!r} v{dataset.version} cannot be deleted: " + "; and ".join(parts)


def _resolves_to(
    params: dict, dataset: Dataset, *, series: dict[int, str], latest: int, name_of_sha: dict[str, str]
) -> bool:
    """Whether a ``dataset.upload`` node's params resolve to ``dataset`` (``dataset_resolve``'s rules,
    over rows read once: a sha256 names the dataset of its newest upload, then ``version`` or the latest)."""
    ref, version = params.get("dataset"), params.get("version")
    if not isinstance(ref, str):
        return False
    name = name_of_sha.get(ref) if len(ref) == 64 else None
    if name is None:
        name = ref
    if name != dataset.name:
        return False
    if version is None:
        return latest == dataset.version
    return type(version) is int and version == dataset.version and version in series


def dataset_usage(*, dataset: Dataset) -> DatasetUsage:
    """The pipeline drafts and registered model versions of the workspace that need this version.

    Three queries whatever the number of pipelines: the workspace's uploads, its
    pipelines' graphs, and the model versions whose run loaded the upload.
    """
    uploads = list(
        Dataset.objects.filter(workspace_id=dataset.workspace_id)
        .order_by("created_at", "id")
        .values_list("name", "version", "artifact_id")
    )
    series = {v: sha for n, v, sha in uploads if n == dataset.name}
    latest = max(series, default=0)
    name_of_sha = {sha: n for n, _, sha in uploads}  # later uploads win: the newest one names it
    usage = DatasetUsage()
    pipelines = Pipeline.objects.filter(workspace_id=dataset.workspace_id).only("id", "name", "graph").order_by("name")
    for pipeline in pipelines:
        graph = pipeline.graph if isinstance(pipeline.graph, dict) else {}
        nodes = [
            str(node.get("id"))
            for node in graph.get("nodes") or []
            if isinstance(node, dict)
            and node.get("block") == "dataset.upload"
            and isinstance(node.get("params"), dict)
            and _resolves_to(node["params"], dataset, series=series, latest=latest, name_of_sha=name_of_sha)
        ]
        if nodes:
            usage.pipelines.append({"id": pipeline.pk, "name": pipeline.name, "nodes": nodes})
    loaded_by = StepRun.objects.filter(
        run__workspace_id=dataset.workspace_id,
        block_key="dataset.upload",
        params__dataset=dataset.artifact_id,
        params__name=dataset.name,
        params__version=dataset.version,
    ).values("run_id")
    usage.models = list(
        ModelVersion.objects.filter(run_id__in=loaded_by)
        .select_related("registered_model")
        .order_by("registered_model__name", "number")
    )
    return usage


def dataset_delete(*, dataset: Dataset) -> None:
    """Delete one version, or raise Conflict (409) naming the pipelines and models that need it
    (``details``: ``pipelines`` [{"id", "name", "nodes"}], ``models`` [{"id", "name", "version"}])."""
    with transaction.atomic():
        Workspace.objects.select_for_update(no_key=True).filter(pk=dataset.workspace_id).exists()
        usage = dataset_usage(dataset=dataset)
        if usage:
            raise Conflict(usage.message(dataset), details=usage.as_dict())
        dataset.delete()


def _refuse_taken(*, workspace_id: int, name: str) -> None:
    if Dataset.objects.filter(workspace_id=workspace_id, name=name).exists():
        raise Conflict(
            f"a dataset named {name!r} already exists in this workspace; choose another name "
            "(to add a version to it, upload under that name)",
            details={"field": "name"},
        )


def dataset_rename(*, dataset: Dataset, name: str) -> tuple[Dataset, list[Pipeline]]:
    """Give every version of ``dataset``'s name the new ``name`` (free in the workspace, else 409
    naming ``name``) and rewrite it in the workspace's pipeline drafts.

    Returns the dataset as renamed and the pipelines whose drafts were rewritten
    (each saved as a new version). Nodes that refer by sha256 need no rewrite.
    """
    name = name_clean(name)
    old = dataset.name
    if name == old:
        return dataset, []
    changed: list[Pipeline] = []
    with transaction.atomic():
        Workspace.objects.select_for_update(no_key=True).filter(pk=dataset.workspace_id).exists()
        _refuse_taken(workspace_id=dataset.workspace_id, name=name)
        Dataset.objects.filter(workspace_id=dataset.workspace_id, name=old).update(name=name)
        pipelines = (
            Pipeline.objects.select_for_update()
            .filter(workspace_id=dataset.workspace_id)
            .only("id", "name", "graph", "version")
        )
        for pipeline in pipelines:
            graph = _graph_renaming(pipeline.graph, old, name)
            if graph is not None:
                Pipeline.objects.filter(pk=pipeline.pk).update(
                    graph=graph, version=F("version") + 1, updated_at=timezone.now()
                )
                changed.append(pipeline)
    dataset.refresh_from_db()
    return dataset, changed


def _graph_renaming(graph: Any, old: str, new: str) -> dict | None:
    """A copy of ``graph`` whose dataset.upload nodes naming ``old`` name ``new``; None if none does."""
    if not isinstance(graph, dict) or not isinstance(graph.get("nodes"), list):
        return None
    nodes, hit = [], False
    for node in graph["nodes"]:
        params = node.get("params") if isinstance(node, dict) else None
        if isinstance(params, dict) and node.get("block") == "dataset.upload" and params.get("dataset") == old:
            node = {**node, "params": {**params, "dataset": new}}
            hit = True
        nodes.append(node)
    return {**graph, "nodes": nodes} if hit else None


def dataset_duplicate(*, dataset: Dataset, user, name: str | None = None) -> Dataset:
    """A new dataset whose version 1 is this version's table (the same stored artifact).

    ``name`` defaults to ``"<name> (copy)"`` (``(copy 2)`` … if taken); a given
    name must be free in the workspace (409 naming ``name``).
    """
    with transaction.atomic():
        Workspace.objects.select_for_update(no_key=True).filter(pk=dataset.workspace_id).exists()
        if name is None:
            taken = set(
                Dataset.objects.filter(workspace_id=dataset.workspace_id, name__startswith=dataset.name[:180])
                .values_list("name", flat=True)
                .distinct()
            )
            name = copy_name(dataset.name, taken)
        else:
            name = name_clean(name)
            _refuse_taken(workspace_id=dataset.workspace_id, name=name)
        copy = Dataset.objects.create(
            workspace_id=dataset.workspace_id,
            name=name,
            version=1,
            artifact_id=dataset.artifact_id,
            filename=dataset.filename,
            n_rows=dataset.n_rows,
            columns=dataset.columns,
            preview=dataset.preview,
            read_options=dataset.read_options,
            profile=dataset.profile,
            created_by=user,
        )
        audit_record(workspace_id=dataset.workspace_id, user=user, action="dataset.duplicate", target=copy,
                     details={"name": name, "duplicate_of": dataset.pk, "sha256": dataset.artifact_id})
        return copy
