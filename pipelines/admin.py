from django.contrib import admin

from .models import (
    Artifact,
    Connection,
    Dataset,
    Membership,
    MonitoringReference,
    MonitoringWindow,
    Pipeline,
    PipelineVersion,
    PredictionLogHour,
    Run,
    StepRun,
    StepTrial,
    Workspace,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "personal_owner", "created_at"]
    search_fields = ["name"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["workspace", "user", "role"]
    list_filter = ["role"]
    raw_id_fields = ["workspace", "user"]


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "workspace", "version", "updated_at"]
    search_fields = ["name"]
    raw_id_fields = ["workspace", "created_by"]


@admin.register(PipelineVersion)
class PipelineVersionAdmin(admin.ModelAdmin):
    list_display = ["id", "pipeline", "number", "created_at"]
    raw_id_fields = ["pipeline", "created_by"]


class StepRunInline(admin.TabularInline):
    model = StepRun
    extra = 0
    fields = ["node_id", "block_key", "status", "cache_hit", "started_at", "finished_at", "error"]
    readonly_fields = fields
    can_delete = False


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ["id", "pipeline", "status", "trigger", "created_by", "created_at"]
    list_filter = ["status", "trigger"]
    list_select_related = ["pipeline", "created_by"]
    raw_id_fields = ["workspace", "pipeline", "pipeline_version", "retry_of", "created_by"]
    inlines = [StepRunInline]


@admin.register(StepRun)
class StepRunAdmin(admin.ModelAdmin):
    list_display = ["id", "run", "node_id", "block_key", "status", "cache_hit", "attempts"]
    list_filter = ["status", "cache_hit"]
    raw_id_fields = ["run", "cached_from"]


@admin.register(StepTrial)
class StepTrialAdmin(admin.ModelAdmin):
    list_display = ["id", "step", "attempt", "index", "worker", "created_at"]
    raw_id_fields = ["step"]


@admin.register(Artifact)
class ArtifactAdmin(admin.ModelAdmin):
    list_display = ["sha256", "kind", "size", "created_at"]
    list_filter = ["kind"]


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "workspace", "n_rows", "created_at"]
    raw_id_fields = ["workspace", "artifact", "created_by"]


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    # The encrypted password is left out: it is never shown, not even encrypted.
    list_display = ["id", "name", "workspace", "kind", "host", "port", "database", "user", "created_at"]
    fields = ["workspace", "name", "kind", "host", "port", "database", "user", "created_by"]
    readonly_fields = fields
    raw_id_fields = ["workspace", "created_by"]

    def has_add_permission(self, request) -> bool:
        return False  # created through the API, which tests the login and encrypts the password


@admin.register(MonitoringWindow)
class MonitoringWindowAdmin(admin.ModelAdmin):
    """Computed by the monitoring tick or ``POST …/monitoring/run/``; read-only here."""

    list_display = ["id", "deployment", "size", "start", "end", "status", "n", "computed_at"]
    list_filter = ["status", "size"]
    list_select_related = ["deployment"]
    raw_id_fields = ["deployment", "model_version"]
    readonly_fields = ["deployment", "size", "start", "end", "status", "n", "model_version", "report", "computed_at"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(MonitoringReference)
class MonitoringReferenceAdmin(admin.ModelAdmin):
    """Set through ``PUT …/monitoring/reference/`` (checked against the model's columns); read-only here."""

    list_display = ["deployment", "kind", "dataset", "start", "end", "set_by", "updated_at"]
    list_filter = ["kind"]
    list_select_related = ["deployment", "dataset", "set_by"]
    readonly_fields = ["deployment", "kind", "dataset", "start", "end", "set_by", "updated_at"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(PredictionLogHour)
class PredictionLogHourAdmin(admin.ModelAdmin):
    """Compaction bookkeeping of the Parquet log copy, per deployment-hour; read-only here."""

    list_display = ["deployment", "hour", "pending", "claimed_until", "compacted_at"]
    list_filter = ["pending"]
    list_select_related = ["deployment"]
    readonly_fields = ["deployment", "hour", "pending", "claimed_until", "compacted_at"]

    def has_add_permission(self, request) -> bool:
        return False


# Registry and deployment admin; alert rules, alerts and retrain policies; aliases,
# promotions, gate results and traffic; schedules and triggers; the audit trail.
from . import admin_alerts, admin_audit, admin_automation, admin_delivery, admin_registry  # noqa: E402,F401
