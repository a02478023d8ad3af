"""Reading a pipeline's schedules and triggers (for its page and the export)."""

from __future__ import annotations

from ..models import Pipeline, PipelineTrigger, Schedule
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
