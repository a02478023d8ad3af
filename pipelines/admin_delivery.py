"""Admin for delivery: aliases, promotion history, gate results, traffic changes, shadow answers.

Promotion events are read-only here as everywhere: the history is immutable.
"""

from django.contrib import admin

from .models import GateEvaluation, ModelAlias, PromotionEvent, ShadowPrediction, TrafficChange


@admin.register(ModelAlias)
class ModelAliasAdmin(admin.ModelAdmin):
    list_display = ["id", "registered_model", "alias", "model_version", "updated_at"]
    raw_id_fields = ["registered_model", "model_version", "updated_by"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PromotionEvent)
class PromotionEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "registered_model", "alias", "from_number", "to_number", "override", "created_by",
                    "created_at"]
    list_filter = ["override"]
    list_select_related = ["registered_model", "created_by"]


@admin.register(GateEvaluation)
class GateEvaluationAdmin(ReadOnlyAdmin):
    list_display = ["id", "model_version", "alias", "passed", "promoted", "created_by", "created_at"]
    list_filter = ["passed", "promoted"]
    list_select_related = ["model_version__registered_model", "created_by"]


@admin.register(TrafficChange)
class TrafficChangeAdmin(ReadOnlyAdmin):
    list_display = ["id", "deployment", "traffic", "automatic", "created_by", "created_at"]
    list_filter = ["automatic"]
    list_select_related = ["deployment", "created_by"]


@admin.register(ShadowPrediction)
class ShadowPredictionAdmin(ReadOnlyAdmin):
    list_display = ["id", "deployment", "model_version", "request_id", "status", "agreement", "latency_ms",
                    "created_at"]
    list_select_related = ["deployment", "model_version__registered_model"]
