"""Admin for the model registry and deployments (imported at the end of admin.py)."""

from django.contrib import admin

from .models import (
    Deployment,
    DeploymentKey,
    DeploymentRevision,
    ModelVersion,
    PredictionLog,
    RegisteredModel,
)


@admin.register(RegisteredModel)
class RegisteredModelAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "workspace", "updated_at"]
    search_fields = ["name"]
    raw_id_fields = ["workspace", "created_by"]


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["id", "registered_model", "number", "task", "run", "created_at"]
    list_filter = ["task"]
    raw_id_fields = ["registered_model", "run", "step", "pipeline_version", "created_by"]


class RevisionInline(admin.TabularInline):
    model = DeploymentRevision
    fk_name = "deployment"
    extra = 0
    fields = ["number", "action", "model_version", "created_by", "created_at"]
    readonly_fields = fields
    can_delete = False


@admin.register(Deployment)
class DeploymentAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "workspace", "current_revision", "updated_at"]
    search_fields = ["name"]
    raw_id_fields = ["workspace", "current_revision", "created_by"]
    inlines = [RevisionInline]


@admin.register(DeploymentRevision)
class DeploymentRevisionAdmin(admin.ModelAdmin):
    list_display = ["id", "deployment", "number", "action", "model_version", "created_by", "created_at"]
    list_filter = ["action"]
    raw_id_fields = ["deployment", "model_version", "restores", "created_by"]


@admin.register(DeploymentKey)
class DeploymentKeyAdmin(admin.ModelAdmin):
    list_display = ["id", "deployment", "name", "prefix", "created_at", "revoked_at"]
    readonly_fields = ["key_hash"]
    raw_id_fields = ["deployment", "created_by"]


@admin.register(PredictionLog)
class PredictionLogAdmin(admin.ModelAdmin):
    list_display = ["id", "deployment", "model_version", "request_id", "status", "n_rows", "latency_ms", "created_at"]
    list_filter = ["status", "protocol"]
    raw_id_fields = ["deployment", "model_version"]
