"""What a deployment's monitoring windows are compared with: choosing it, describing it, loading it.

Three kinds (``MonitoringReference``; no row is ``training``):

- ``training``: the serving model version's training table, found through lineage
  (``ModelVersion.training_data_sha256``);
- ``dataset``: one uploaded dataset version of the deployment's workspace, which must
  hold every input column the model needs;
- ``window``: the deployment's own predictions logged in a closed [start, end), e.g.
  a week of production after launch that everyone agreed was healthy.

Tables are profiled whole and sampled to at most ``MONITORING_REFERENCE_ROWS`` rows with
a fixed seed. A loaded reference is kept per process, keyed by what it was made of (the
table's sha256, or the window's bounds and logged row count), so the windows of one
tick — or of a page's "compute now" — read and profile it once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import pandas as pd
from django.conf import settings
from django.db import transaction
from django.db.models import Sum

from ..access import workspace_ids_for
from ..errors import ApplicationError
from ..execution.artifacts import OBJECT, TABLE, ArtifactError
from ..execution.summaries import json_safe
from ..models import (
    Dataset,
    Deployment,
    ModelVersion,
    MonitoringReference,
    PredictionLog,
    ReferenceKind,
)
from ..monitoring import quality
from ..monitoring.window import Reference
from ..selectors import monitoring as reads
from .artifacts import artifact_store
from .audit import audit_record
from .datasets import dataset_resolve

logger = logging.getLogger(__name__)


def _moment(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


# --- choosing ---------------------------------------------------------------------------


def monitoring_reference_set(
    *, deployment: Deployment, user, kind: str, dataset: str | None = None, version: int | None = None,
    start: datetime | None = None, end: datetime | None = None,
) -> MonitoringReference:
    """Replace the deployment's reference (the caller checked the editor role).

    Raises ApplicationError (400) naming the field: ``dataset`` when it is missing, not in
    the deployment's workspace, or lacks input columns the model needs; ``version`` when
    that dataset has no such version; ``start``/``end`` when missing, in the wrong order,
    in the future, or when the window holds fewer logged rows than a drift verdict needs.
    A dataset given without ``version`` is pinned to its latest version now.
    """
    values: dict[str, Any] = {"kind": kind, "dataset": None, "start": None, "end": None, "set_by": user}
    if kind == ReferenceKind.DATASET:
        values["dataset"] = _reference_dataset(deployment, user, dataset, version)
    elif kind == ReferenceKind.WINDOW:
        values["start"], values["end"] = _reference_window(deployment, start, end)
    with transaction.atomic():
        reference, _ = MonitoringReference.objects.update_or_create(deployment=deployment, defaults=values)
        audit_record(workspace_id=deployment.workspace_id, user=user, action="deployment.monitoring_reference",
                     target=deployment, details={"name": deployment.name, **reference_describe(reference)})
    return reference


def _reference_dataset(deployment: Deployment, user, ref: str | None, version: int | None) -> Dataset:
    if not ref:
        raise ApplicationError("a dataset reference needs the dataset's name", field="dataset")
    if not Dataset.objects.filter(workspace_id=deployment.workspace_id, name=ref).exists():
        elsewhere = (Dataset.objects.filter(workspace_id__in=workspace_ids_for(user), name=ref)
                     .select_related("workspace").first())
        if elsewhere is not None:
            raise ApplicationError(
                f"dataset {ref!r} is in workspace {elsewhere.workspace.name!r}, not in the deployment's workspace; "
                "a reference must come from the deployment's own workspace", field="dataset")
    chosen = dataset_resolve(workspace=deployment.workspace, ref=ref, version=version)
    model_version = _serving_version(deployment)
    if model_version is not None:
        have = {c.get("name") for c in chosen.columns or []}
        missing = [c["name"] for c in model_version.signature.get("inputs", []) if c["name"] not in have]
        if missing:
            raise ApplicationError(
                f"dataset {chosen.name!r} v{chosen.version} lacks columns the model needs: {', '.join(missing)}",
                field="dataset", details={"missing_columns": missing})
    return chosen


def _reference_window(deployment: Deployment, start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    if start is None:
        raise ApplicationError("a window reference needs start", field="start")
    if end is None:
        raise ApplicationError("a window reference needs end", field="end")
    if end <= start:
        raise ApplicationError("end must be after start", field="end")
    if end > datetime.now(UTC):
        raise ApplicationError("end must not be in the future: a reference must not change as traffic arrives",
                               field="end")
    rows = _logged_rows(deployment.pk, start, end)
    if rows < settings.MONITORING_MIN_ROWS:
        raise ApplicationError(
            f"deployment {deployment.name!r} answered {rows} rows in [{_moment(start)}, {_moment(end)}); "
            f"a reference window needs at least {settings.MONITORING_MIN_ROWS}", field="start")
    return start, end


def _logged_rows(deployment_id: int, start: datetime, end: datetime) -> int:
    """Rows answered (status < 400) in [start, end): one aggregate on the (deployment, created_at) index."""
    return PredictionLog.objects.filter(
        deployment_id=deployment_id, created_at__gte=start, created_at__lt=end, status__lt=400
    ).aggregate(rows=Sum("n_rows"))["rows"] or 0


def _serving_version(deployment: Deployment) -> ModelVersion | None:
    if not deployment.current_revision_id:
        return None
    return ModelVersion.objects.filter(pk=deployment.current_revision.model_version_id).first()


# --- describing ---------------------------------------------------------------------------


def reference_describe(reference: MonitoringReference | None) -> dict[str, Any]:
    """The API's shape: ``{"kind", "dataset", "version", "dataset_id", "start", "end", "label"}``."""
    kind = reference.kind if reference is not None else ReferenceKind.TRAINING
    out: dict[str, Any] = {"kind": kind, "dataset": None, "version": None, "dataset_id": None,
                           "start": None, "end": None}
    if kind == ReferenceKind.DATASET:
        dataset = reference.dataset
        out.update(dataset=dataset.name, version=dataset.version, dataset_id=dataset.pk,
                   label=f"dataset {dataset.name} v{dataset.version}")
    elif kind == ReferenceKind.WINDOW:
        out.update(start=_moment(reference.start), end=_moment(reference.end),
                   label=f"production {reference.start:%Y-%m-%d %H:%M} → {reference.end:%Y-%m-%d %H:%M} UTC")
    else:
        out["label"] = "training data"
    return out


# --- loading ----------------------------------------------------------------------------


def _signature_kinds(version: ModelVersion) -> dict[str, str]:
    return {c["name"]: quality.column_kind(c["dtype"]) for c in version.signature.get("inputs", [])}


def _validation_metric(version: ModelVersion) -> dict | None:
    """The headline metric measured on held-out data at registration ({"metric", "value"})."""
    for values in (version.metrics or {}).values():
        headline = (values or {}).get("headline") if isinstance(values, dict) else None
        if headline and headline.get("value") is not None:
            return {"metric": headline["name"], "value": headline["value"]}
    return None


@lru_cache(maxsize=16)
def _table_reference(version_id: int, table_sha: str, model_sha: str, rows: int) -> Reference:
    """A table (training data or a dataset) profiled whole, sampled, and predicted by the model."""
    version = ModelVersion.objects.get(pk=version_id)
    kinds = _signature_kinds(version)
    store = artifact_store()
    table = store.load(table_sha, TABLE)
    features = table[[c for c in kinds if c in table.columns]]
    profiles = quality.profile(features, kinds)
    if len(features) > rows:
        features = features.sample(n=rows, random_state=0)
    predictions = None
    try:
        predictions = json_safe(list(store.load(model_sha, OBJECT).predict(features)))
    except Exception:  # noqa: BLE001 - no prediction drift rather than no monitoring
        logger.exception("model version %s could not predict its reference rows", version_id)
    return Reference(features=features.reset_index(drop=True), kinds=kinds, profiles=profiles,
                     task=version.task, predictions=predictions, validation=_validation_metric(version))


@lru_cache(maxsize=16)
def _window_reference(deployment_id: int, version_id: int, start: datetime, end: datetime, logged: int,
                      rows: int) -> Reference:
    """Logged production rows and the predictions the deployment answered for them.

    ``logged`` (the window's answered row count) is part of the key only: rows logged into
    the span later (an import) make a new key, so a stale sample is not reused."""
    version = ModelVersion.objects.get(pk=version_id)
    kinds = _signature_kinds(version)
    deployment = Deployment.objects.get(pk=deployment_id)
    frame = reads.prediction_window_frame(deployment, start, end, rows)
    features = frame[[c for c in kinds if c in frame.columns]].reset_index(drop=True)
    predictions = frame[reads.PREDICTION].tolist()
    if all(p is None for p in predictions):
        predictions = None
    return Reference(features=features, kinds=kinds, profiles=quality.profile(features, kinds),
                     task=version.task, predictions=predictions, validation=_validation_metric(version))


def reference_clear_cache() -> None:
    """Forget every loaded reference (tests; a process that must not keep them)."""
    _table_reference.cache_clear()
    _window_reference.cache_clear()


def reference_cache_info() -> dict[str, Any]:
    return {"table": _table_reference.cache_info(), "window": _window_reference.cache_info()}


def reference_load(deployment: Deployment, version: ModelVersion | None) -> tuple[Reference | None, dict[str, Any]]:
    """(the reference ``version``'s windows of ``deployment`` are compared with, its description).

    The Reference is None when there is no model version, or its data is not recorded or
    not readable (then ``description["available"]`` is False and the window gets no drift
    verdict)."""
    chosen = reads.monitoring_reference_get(deployment=deployment)
    description = reference_describe(chosen)
    rows = settings.MONITORING_REFERENCE_ROWS
    reference = None
    try:
        if version is None:
            reference = None
        elif description["kind"] == ReferenceKind.DATASET:
            reference = _table_reference(version.pk, chosen.dataset.artifact_id, version.artifact_sha256, rows)
        elif description["kind"] == ReferenceKind.WINDOW:
            logged = _logged_rows(deployment.pk, chosen.start, chosen.end)
            reference = _window_reference(deployment.pk, version.pk, chosen.start, chosen.end, logged, rows)
        elif version.training_data_sha256:
            reference = _table_reference(version.pk, version.training_data_sha256, version.artifact_sha256, rows)
    except ArtifactError as exc:
        logger.warning("no monitoring reference (%s) for deployment %s: %s", description["label"], deployment.pk, exc)
        reference = None
    if reference is not None and reference.features.empty:
        reference = None
    description["available"] = reference is not None
    description["rows"] = len(reference.features) if reference is not None else 0
    return reference, description


def no_reference(version: ModelVersion | None) -> Reference:
    """An empty reference: the window is reported without drift or quality verdicts."""
    kinds = _signature_kinds(version) if version is not None else {}
    return Reference(features=pd.DataFrame(columns=list(kinds)), kinds=kinds, profiles={},
                     task=version.task if version else "other")
