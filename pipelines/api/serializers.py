"""Output serializers shared by several views. Input serializers live beside their view."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import Dataset, Pipeline, PipelineVersion, Run, StepRun, Workspace


@extend_schema_field({"type": "string", "nullable": True, "readOnly": True, "description": "a username"})
class UserField(serializers.Field):
    def to_representation(self, value):
        return value.get_username() if value else None


class WorkspaceOut(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()
    personal = serializers.SerializerMethodField()

    class Meta:
        model = Workspace
        fields = ["id", "name", "personal", "role", "created_at"]

    def get_role(self, obj) -> str | None:
        return self.context.get("roles", {}).get(obj.pk)

    def get_personal(self, obj) -> bool:
        return obj.personal_owner_id is not None


class PipelineOut(serializers.ModelSerializer):
    created_by = UserField()

    class Meta:
        model = Pipeline
        fields = [
            "id", "workspace", "name", "description", "graph", "version",
            "created_by", "created_at", "updated_at",
        ]


class LastRunOut(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()


class PipelineListOut(serializers.ModelSerializer):
    created_by = UserField()
    run_count = serializers.IntegerField()
    last_run = serializers.SerializerMethodField()
    node_count = serializers.SerializerMethodField()

    class Meta:
        model = Pipeline
        fields = [
            "id", "workspace", "name", "description", "version", "node_count",
            "created_by", "created_at", "updated_at", "run_count", "last_run",
        ]

    @extend_schema_field(LastRunOut(allow_null=True))
    def get_last_run(self, obj) -> dict | None:
        if not obj.last_run_id:
            return None
        return {"id": obj.last_run_id, "status": obj.last_run_status, "created_at": obj.last_run_at}

    def get_node_count(self, obj) -> int:
        nodes = obj.graph.get("nodes") if isinstance(obj.graph, dict) else None
        return len(nodes) if isinstance(nodes, list) else 0


class PipelineVersionOut(serializers.ModelSerializer):
    created_by = UserField()

    class Meta:
        model = PipelineVersion
        fields = ["id", "pipeline", "number", "graph", "graph_hash", "message", "created_by", "created_at"]


class StepOut(serializers.ModelSerializer):
    duration_seconds = serializers.FloatField(read_only=True, allow_null=True)
    cached_from_run = serializers.SerializerMethodField()

    class Meta:
        model = StepRun
        fields = [
            "id", "node_id", "block_key", "block_version", "status", "params", "inputs",
            "cache_key", "cache_hit", "cached_from_run", "always_rerun", "timeout_seconds",
            "outputs", "summary", "logs", "warnings", "error", "error_detail", "attempts",
            "worker", "queued_at", "started_at", "finished_at", "duration_seconds",
        ]

    def get_cached_from_run(self, obj) -> int | None:
        return obj.cached_from.run_id if obj.cached_from_id else None


class RunListOut(serializers.ModelSerializer):
    created_by = UserField()
    version = serializers.IntegerField(source="pipeline_version.number")
    pipeline_name = serializers.CharField(source="pipeline.name")
    duration_seconds = serializers.FloatField(read_only=True, allow_null=True)
    progress = serializers.FloatField(read_only=True)

    class Meta:
        model = Run
        fields = [
            "id", "pipeline", "pipeline_name", "pipeline_version", "version", "workspace",
            "status", "trigger", "trigger_detail", "use_cache", "retry_of", "created_by", "created_at",
            "started_at", "finished_at", "duration_seconds", "steps_total", "steps_done",
            "progress", "error", "headline",
        ]


class RunOut(RunListOut):
    steps = serializers.SerializerMethodField()
    queue_position = serializers.SerializerMethodField()
    graph = serializers.JSONField(source="pipeline_version.graph")

    class Meta(RunListOut.Meta):
        fields = RunListOut.Meta.fields + ["queue_position", "graph", "steps"]

    @extend_schema_field(StepOut(many=True))
    def get_steps(self, obj) -> list[dict]:
        return StepOut(self.context["steps"], many=True).data

    def get_queue_position(self, obj) -> int | None:
        return self.context.get("queue_position")


class DatasetOut(serializers.ModelSerializer):
    sha256 = serializers.CharField(source="artifact_id")
    created_by = UserField()

    class Meta:
        model = Dataset
        fields = [
            "id", "workspace", "name", "version", "filename", "sha256", "n_rows", "columns", "preview",
            "read_options", "created_by", "created_at",
        ]


class DatasetDetailOut(DatasetOut):
    """One dataset with its ``profile`` (per column statistics; lists leave it out, it can be large)."""

    class Meta(DatasetOut.Meta):
        fields = [*DatasetOut.Meta.fields, "profile"]
