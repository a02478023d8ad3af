"""Admin for alert rules, alerts, deliveries and retrain policies (imported at the end of admin.py)."""

from django.contrib import admin

from .models import Alert, AlertDelivery, AlertRule, RetrainPolicy, RetrainRun


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = ["id", "deployment", "signal", "threshold", "consecutive", "cooldown_minutes", "enabled", "streak"]
    list_filter = ["signal", "enabled"]
    raw_id_fields = ["deployment", "created_by"]
    exclude = ["webhook_secret"]  # encrypted; never shown


class DeliveryInline(admin.TabularInline):
    model = AlertDelivery
    extra = 0
    readonly_fields = ["event", "kind", "target", "status", "attempts", "response_code", "error", "sent_at"]


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["id", "deployment", "signal", "status", "value", "threshold", "fired_at", "resolved_at"]
    list_filter = ["status", "signal"]
    list_select_related = ["deployment"]
    raw_id_fields = ["rule", "deployment", "acknowledged_by"]
    inlines = [DeliveryInline]


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "alert", "event", "kind", "target", "status", "attempts", "sent_at"]
    list_filter = ["status", "kind"]
    raw_id_fields = ["alert"]


@admin.register(RetrainPolicy)
class RetrainPolicyAdmin(admin.ModelAdmin):
    list_display = ["deployment", "pipeline", "on", "consecutive", "cooldown_hours", "user"]
    raw_id_fields = ["deployment", "pipeline", "user"]


@admin.register(RetrainRun)
class RetrainRunAdmin(admin.ModelAdmin):
    list_display = ["run", "deployment", "trigger", "done", "model_version", "created_at"]
    raw_id_fields = ["deployment", "run", "alert", "model_version"]
