"""Triggers: a new dataset version, an upstream pipeline's success, or a webhook starts a pipeline.

Dataset and pipeline triggers are found by ``triggers_fire_due`` on each beat
tick (``pipelines.automation_tick``) rather than by hooks in the upload and
run-closing code: whatever path closed a run or stored a version, the next
tick sees it. Each start is a TriggerFiring whose unique (trigger, key) is
inserted in the same transaction as the run, so the same dataset version or
upstream run starts the pipeline exactly once, however many ticks (or beats)
look at it.

- **dataset**: a version fires once it has been the latest of its name for
  ``TRIGGER_DEBOUNCE_SECONDS``; a burst of uploads starts one run, for the last.
  Only versions uploaded after the trigger was made count.
- **pipeline**: each successful run of the source pipeline (finished after the
  trigger was made, within ``TRIGGER_LOOKBACK``) fires once. A trigger that
  would close a loop (A→B→A, or A→A) is refused when it is made, and a chain
  that comes back to a pipeline it already ran is stopped when it fires.
- **webhook**: a POST to ``/api/hooks/<secret>/`` starts a run. Only the
  secret's sha256 is stored; an unknown secret and a paused trigger answer the
  same 404.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from ..access import has_role
from ..errors import ApplicationError, NotFound
from ..models import (
    Dataset,
    Pipeline,
    PipelineTrigger,
    Role,
    Run,
    RunStatus,
    Trigger,
    TriggerFiring,
    TriggerKind,
)

logger = logging.getLogger(__name__)

MAX_CHAIN = 50


def _debounce() -> timedelta:
    return timedelta(seconds=float(getattr(settings, "TRIGGER_DEBOUNCE_SECONDS", 5)))


def _lookback() -> timedelta:
    return timedelta(seconds=float(getattr(settings, "TRIGGER_LOOKBACK_SECONDS", 86400)))


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def trigger_create(
    *, pipeline: Pipeline, user, kind: str, dataset: str | int | None = None, source: Pipeline | None = None
) -> tuple[PipelineTrigger, str | None]:
    """Make a trigger; returns it and, for a webhook, its secret (shown this once only)."""
    trigger = PipelineTrigger(pipeline=pipeline, kind=kind, created_by=user)
    secret = None
    if kind == TriggerKind.DATASET:
        trigger.dataset_name = _dataset_name(pipeline, dataset)
    elif kind == TriggerKind.PIPELINE:
        if source is None:
            raise ApplicationError('a pipeline trigger needs "pipeline": the upstream pipeline\'s id', field="pipeline")
        if source.workspace_id != pipeline.workspace_id:
            raise ApplicationError("the upstream pipeline must be in the same workspace", field="pipeline")
        trigger.source_pipeline = source
    elif kind == TriggerKind.WEBHOOK:
        secret = secrets.token_urlsafe(32)
        trigger.secret_hash = secret_hash(secret)
    else:
        raise ApplicationError(f"unknown trigger kind {kind!r}", field="kind")
    same = PipelineTrigger.objects.filter(
        pipeline=pipeline, kind=kind, dataset_name=trigger.dataset_name, source_pipeline=trigger.source_pipeline
    )
    if kind != TriggerKind.WEBHOOK and same.exists():
        field = "dataset" if kind == TriggerKind.DATASET else "pipeline"
        raise ApplicationError(f"this pipeline already has that {kind} trigger", field=field, status=409)
    with transaction.atomic():
        if kind == TriggerKind.PIPELINE:
            # Serialise trigger creation per workspace so two requests cannot close a loop together.
            from ..models import Workspace

            Workspace.objects.select_for_update(no_key=True).filter(pk=pipeline.workspace_id).exists()
            _refuse_loop(source_id=source.pk, target_id=pipeline.pk)
        trigger.save(force_insert=True)
    return trigger, secret


def _dataset_name(pipeline: Pipeline, dataset: str | int | None) -> str:
    """A dataset trigger follows a name; ``dataset`` is that name or the id of one of its versions."""
    if isinstance(dataset, int) and not isinstance(dataset, bool):
        name = (
            Dataset.objects.filter(pk=dataset, workspace_id=pipeline.workspace_id).values_list("name", flat=True).first()
        )
        if name is None:
            raise ApplicationError(f"no dataset {dataset} in this pipeline's workspace", field="dataset")
        return name
    if isinstance(dataset, str) and dataset.strip():
        name = dataset.strip()
        if not Dataset.objects.filter(workspace_id=pipeline.workspace_id, name=name).exists():
            raise ApplicationError(f"no dataset named {name!r} in this pipeline's workspace", field="dataset")
        return name
    raise ApplicationError('a dataset trigger needs "dataset": a dataset name or id', field="dataset")


def _refuse_loop(*, source_id: int, target_id: int) -> None:
    """Refuse source → target when target already leads (through pipeline triggers) back to source."""
    if source_id == target_id:
        raise ApplicationError("a pipeline cannot trigger itself", field="pipeline")
    edges: dict[int, set[int]] = {}
    for src, dst in PipelineTrigger.objects.filter(kind=TriggerKind.PIPELINE).values_list(
        "source_pipeline_id", "pipeline_id"
    ):
        edges.setdefault(src, set()).add(dst)
    seen, frontier = {target_id}, [target_id]
    while frontier:
        node = frontier.pop()
        for nxt in edges.get(node, ()):
            if nxt == source_id:
                raise ApplicationError(
                    f"this trigger would make a loop: pipeline {target_id} already starts "
                    f"pipeline {source_id} (directly or through others)",
                    field="pipeline",
                )
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)


def trigger_delete(*, trigger: PipelineTrigger) -> None:
    trigger.delete()


def trigger_set_paused(*, trigger: PipelineTrigger, paused: bool) -> PipelineTrigger:
    PipelineTrigger.objects.filter(pk=trigger.pk).update(paused=paused)
    trigger.refresh_from_db()
    return trigger


def trigger_describe(trigger: PipelineTrigger) -> str:
    if trigger.kind == TriggerKind.DATASET:
        return f"a new version of dataset {trigger.dataset_name!r}"
    if trigger.kind == TriggerKind.PIPELINE:
        name = trigger.source_pipeline.name if trigger.source_pipeline else "?"
        return f"a successful run of pipeline {name!r}"
    return "a POST to its webhook URL"


# --- firing ------------------------------------------------------------------------


def triggers_fire_due(*, now: datetime | None = None) -> int:
    """Fire dataset and pipeline triggers for what happened since they last looked; returns runs started."""
    now = now or timezone.now()
    return _fire_dataset_triggers(now) + _fire_pipeline_triggers(now)


def _fire_dataset_triggers(now: datetime) -> int:
    latest = Dataset.objects.filter(
        workspace_id=OuterRef("pipeline__workspace_id"), name=OuterRef("dataset_name")
    ).order_by("-version")
    triggers = (
        PipelineTrigger.objects.filter(kind=TriggerKind.DATASET, paused=False)
        .select_related("pipeline__workspace", "created_by")
        .annotate(
            latest_id=Subquery(latest.values("pk")[:1]),
            latest_version=Subquery(latest.values("version")[:1]),
            latest_at=Subquery(latest.values("created_at")[:1]),
        )
    )
    started = 0
    for trigger in triggers:
        if trigger.latest_id is None or trigger.latest_at < trigger.created_at:
            continue
        if trigger.latest_at > now - _debounce():  # wait: another upload may follow
            continue
        started += _fire(
            trigger,
            key=f"dataset:{trigger.latest_id}",
            trigger_kind=Trigger.DATASET,
            detail=f"dataset {trigger.dataset_name} v{trigger.latest_version}",
        )
    return started


def _fire_pipeline_triggers(now: datetime) -> int:
    triggers = list(
        PipelineTrigger.objects.filter(kind=TriggerKind.PIPELINE, paused=False).select_related(
            "pipeline__workspace", "source_pipeline", "created_by"
        )
    )
    if not triggers:
        return 0
    started = 0
    for trigger in triggers:
        fired = TriggerFiring.objects.filter(trigger=trigger, key=_run_key_expr())
        runs = (
            Run.objects.filter(
                pipeline_id=trigger.source_pipeline_id,
                status=RunStatus.SUCCEEDED,
                finished_at__gte=max(trigger.created_at, now - _lookback()),
            )
            .annotate(fired=Exists(fired))
            .filter(fired=False)
            .order_by("finished_at", "id")
            .values_list("pk", flat=True)[:100]
        )
        for run_id in runs:
            started += _fire(
                trigger,
                key=f"run:{run_id}",
                trigger_kind=Trigger.PIPELINE,
                detail=f"pipeline {trigger.source_pipeline.name} run {run_id}",
                source_run_id=run_id,
            )
    return started


def _run_key_expr():
    from django.db.models import CharField, Value
    from django.db.models.functions import Cast, Concat

    return Concat(Value("run:"), Cast(OuterRef("pk"), CharField()))


def _fire(
    trigger: PipelineTrigger, *, key: str, trigger_kind: str, detail: str, source_run_id: int | None = None
) -> int:
    """Start one run for ``key`` unless it was started before; 1 if a run started."""
    from .runs import run_start

    skipped, run = "", None
    try:
        with transaction.atomic():
            firing = TriggerFiring.objects.create(trigger=trigger, key=key, source_run_id=source_run_id)
            skipped = _why_not(trigger, source_run_id)
            if not skipped:
                try:
                    with transaction.atomic():
                        run = run_start(
                            pipeline=trigger.pipeline, user=trigger.created_by, trigger=trigger_kind,
                            trigger_detail=detail,
                        )
                except ApplicationError as exc:
                    skipped = f"not started: {exc.message}"
            TriggerFiring.objects.filter(pk=firing.pk).update(run=run, skipped=skipped[:300])
            PipelineTrigger.objects.filter(pk=trigger.pk).update(last_fired_at=timezone.now(), last_error=skipped)
    except IntegrityError:  # fired already (another tick or beat got there first)
        return 0
    if skipped:
        logger.info("trigger %s (%s) started nothing: %s", trigger.pk, key, skipped)
    return 1 if run is not None else 0


def _why_not(trigger: PipelineTrigger, source_run_id: int | None) -> str:
    user = trigger.created_by
    if user is None or not user.is_active or not has_role(user, trigger.pipeline.workspace_id, Role.EDITOR):
        return "the trigger's owner is no longer an editor of this workspace"
    if source_run_id is not None and trigger.pipeline_id in _chain_pipelines(source_run_id):
        return "loop: this pipeline already ran earlier in the chain of triggers that led here"
    return ""


def _chain_pipelines(run_id: int) -> set[int]:
    """The pipelines of ``run_id`` and of every run that triggered it, back to the first."""
    pipelines: set[int] = set()
    for _ in range(MAX_CHAIN):
        row = Run.objects.filter(pk=run_id).values_list("pipeline_id", flat=True).first()
        if row is None:
            break
        pipelines.add(row)
        parent = TriggerFiring.objects.filter(run_id=run_id).values_list("source_run_id", flat=True).first()
        if parent is None:
            break
        run_id = parent
    return pipelines


def webhook_fire(*, secret: str) -> Run:
    """Start the pipeline of the webhook trigger whose secret this is; NotFound otherwise."""
    from .runs import run_start

    trigger = (
        PipelineTrigger.objects.select_related("pipeline__workspace", "created_by")
        .filter(kind=TriggerKind.WEBHOOK, secret_hash=secret_hash(secret), paused=False)
        .first()
    )
    if trigger is None:
        raise NotFound("not found")
    why = _why_not(trigger, None)
    if why:
        raise ApplicationError(f"the webhook cannot start a run: {why}", status=409)
    run = run_start(
        pipeline=trigger.pipeline, user=trigger.created_by, trigger=Trigger.WEBHOOK,
        trigger_detail=f"webhook trigger {trigger.pk}",
    )
    PipelineTrigger.objects.filter(pk=trigger.pk).update(last_fired_at=timezone.now(), last_error="")
    return run
