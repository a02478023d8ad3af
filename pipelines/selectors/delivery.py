"""Read queries for delivery: registered models by name, aliases, promotion history, gate results."""

from __future__ import annotations

from django.db.models import QuerySet

from ..access import require_role, workspace_ids_for
from ..errors import ApplicationError, NotFound
from ..models import (
    Deployment,
    GateEvaluation,
    ModelAlias,
    ModelVersion,
    PromotionEvent,
    RegisteredModel,
    RetrainPolicy,
    Role,
    TrafficChange,
)


def registered_model_get(*, user, name: str, role: str = Role.VIEWER, workspace_id: int | None = None,
                         field: str = "name") -> RegisteredModel:
    """The model named ``name`` in one of the user's workspaces (``workspace_id`` picks one
    when several have that name: 400 asks for it). Non-members get 404, like a missing name."""
    found = [] if "\x00" in name else list(
        RegisteredModel.objects.filter(name=name, workspace_id__in=workspace_ids_for(user))
    )
    if workspace_id is not None:
        found = [m for m in found if m.workspace_id == workspace_id]
    if not found:
        raise NotFound(f"registered model {name!r} not found", field=field)
    if len(found) > 1:
        raise ApplicationError(
            f"several of your workspaces have a model named {name!r} "
            f"(workspaces {', '.join(str(m.workspace_id) for m in found)}); pass ?workspace=<id>",
            field="workspace",
        )
    model = found[0]
    require_role(user, model.workspace_id, role, what="registered model")
    return model


def model_versions(*, registered_model: RegisteredModel) -> list[ModelVersion]:
    return list(registered_model.versions.select_related("created_by").order_by("-number"))


def model_aliases(*, registered_model: RegisteredModel) -> list[ModelAlias]:
    return list(registered_model.aliases.select_related("model_version", "updated_by"))


def promotion_history(*, registered_model: RegisteredModel) -> QuerySet[PromotionEvent]:
    return registered_model.promotions.select_related("created_by").order_by("-created_at", "-id")


def following_deployments(*, registered_model: RegisteredModel) -> list[Deployment]:
    return list(
        Deployment.objects.filter(model=registered_model).select_related(
            "current_revision__model_version"
        ).order_by("name")
    )


def gate_evaluations(*, version: ModelVersion, limit: int = 10) -> list[GateEvaluation]:
    return list(version.gate_evaluations.select_related("created_by").order_by("-created_at", "-id")[:limit])


def traffic_changes(*, deployment: Deployment, limit: int = 20) -> list[TrafficChange]:
    return list(deployment.traffic_changes.select_related("created_by").order_by("-created_at", "-id")[:limit])


def version_aliases(*, versions: list[ModelVersion]) -> dict[int, list[str]]:
    """{version id: its aliases} for a list page, in one query."""
    out: dict[int, list[str]] = {}
    rows = ModelAlias.objects.filter(model_version__in=[v.pk for v in versions]).order_by("alias")
    for version_id, alias in rows.values_list("model_version_id", "alias"):
        out.setdefault(version_id, []).append(alias)
    return out


def pipeline_registered_models(*, pipeline) -> list[RegisteredModel]:
    """The registered models ``pipeline`` registers into, by name: those with a version trained
    by one of its runs, and those of the deployments that retrain with it. Registration names
    the model when it is made (``POST /api/models/``), so this lineage is the only link."""
    names = set(
        ModelVersion.objects.filter(run__pipeline=pipeline, registered_model__workspace_id=pipeline.workspace_id)
        .values_list("registered_model_id", flat=True)
    )
    for policy in RetrainPolicy.objects.filter(pipeline=pipeline).select_related(
        "deployment__current_revision__model_version"
    ):
        deployment = policy.deployment
        if deployment.model_id:
            names.add(deployment.model_id)
        elif deployment.current_revision_id:
            names.add(deployment.current_revision.model_version.registered_model_id)
    return list(RegisteredModel.objects.filter(pk__in=names, workspace_id=pipeline.workspace_id).order_by("name"))
