"""Reading a pipeline's schedules and triggers (for its page and the export)."""

from __future__ import annotations

from ..errors import NotFound
from ..models import Dataset, Pipeline, PipelineTrigger, Schedule
from ..services.schedules import schedule_describe
from ..services.triggers import trigger_describe


def pipeline_schedules(*, pipeline: Pipeline) -> list[Schedule]:
    """The pipeline's schedules, oldest first, each with ``description`` in plain words."""
    schedules = list(Schedule.objects.filter(pipeline=pipeline).select_related("created_by"))
    for schedule in schedules:
        schedule.description = schedule_describe(schedule)
    return schedules


def pipeline_triggers(*, pipeline: Pipeline) -> list[PipelineTrigger]:
    """The pipeline's triggers, oldest first, each with ``description`` in plain words."""
    triggers = list(
        PipelineTrigger.objects.filter(pipeline=pipeline).select_related("source_pipeline", "created_by")
    )
    for trigger in triggers:
        trigger.description = trigger_describe(trigger)
    return triggers


def trigger_choices(*, pipeline: Pipeline) -> dict[str, list]:
    """What the page's trigger form offers: the dataset names of the pipeline's workspace, and
    its other pipelines (a pipeline cannot trigger itself), each by name."""
    datasets = (
        Dataset.objects.filter(workspace_id=pipeline.workspace_id).order_by("name").values_list("name", flat=True)
    )
    pipelines = (
        Pipeline.objects.filter(workspace_id=pipeline.workspace_id).exclude(pk=pipeline.pk).order_by("name", "id")
        .values("id", "name")
    )
    return {"datasets": list(dict.fromkeys(datasets)), "pipelines": list(pipelines)}


def schedule_get(*, pipeline: Pipeline, schedule_id: int) -> Schedule:
    """Schedule ``schedule_id`` of ``pipeline`` (access already checked); NotFound when it has none."""
    schedule = Schedule.objects.select_related("pipeline", "created_by").filter(
        pk=schedule_id, pipeline=pipeline
    ).first()
    if schedule is None:
        raise NotFound(f"pipeline {pipeline.pk} has no schedule {schedule_id}")
    return schedule


def trigger_get(*, pipeline: Pipeline, trigger_id: int) -> PipelineTrigger:
    """Trigger ``trigger_id`` of ``pipeline`` (access already checked); NotFound when it has none."""
    trigger = PipelineTrigger.objects.select_related("source_pipeline", "created_by").filter(
        pk=trigger_id, pipeline=pipeline
    ).first()
    if trigger is None:
        raise NotFound(f"pipeline {pipeline.pk} has no trigger {trigger_id}")
    return trigger
