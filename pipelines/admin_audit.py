"""Admin for the audit trail and model-card revisions: read-only, as the records are.

Audit events are hash-chained (``services.audit``): an edit here would break the chain,
so nothing can be added, changed or deleted; card revisions are history too.
"""

from django.contrib import admin

from .admin_delivery import ReadOnlyAdmin
from .models import AuditEvent, AuditHead, ModelCardRevision


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "workspace", "seq", "action", "actor_name", "target_type", "target_id", "created_at"]
    list_filter = ["action"]
    list_select_related = ["workspace"]
    search_fields = ["action", "actor_name", "target_id"]


@admin.register(AuditHead)
class AuditHeadAdmin(ReadOnlyAdmin):
    list_display = ["workspace", "seq", "hash"]
    list_select_related = ["workspace"]


@admin.register(ModelCardRevision)
class ModelCardRevisionAdmin(ReadOnlyAdmin):
    list_display = ["id", "model_version", "number", "created_by", "created_at"]
    list_select_related = ["model_version__registered_model", "created_by"]
