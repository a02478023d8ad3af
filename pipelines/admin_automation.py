"""Admin for schedules and triggers (read mostly; the webhook secret is only ever a hash)."""

from django.contrib import admin

from .models import PipelineTrigger, Schedule, TriggerFiring


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = ["id", "pipeline", "cron", "every_seconds", "paused", "next_run_at", "last_run_at"]
    list_filter = ["paused"]
    list_select_related = ["pipeline"]
    raw_id_fields = ["pipeline", "created_by", "last_run"]


@admin.register(PipelineTrigger)
class PipelineTriggerAdmin(admin.ModelAdmin):
    list_display = ["id", "pipeline", "kind", "dataset_name", "source_pipeline", "paused", "last_fired_at"]
    list_filter = ["kind", "paused"]
    list_select_related = ["pipeline", "source_pipeline"]
    raw_id_fields = ["pipeline", "source_pipeline", "created_by"]
    readonly_fields = ["secret_hash"]


@admin.register(TriggerFiring)
class TriggerFiringAdmin(admin.ModelAdmin):
    list_display = ["id", "trigger", "key", "run", "skipped", "created_at"]
    list_select_related = ["trigger"]
    raw_id_fields = ["trigger", "run", "source_run"]
