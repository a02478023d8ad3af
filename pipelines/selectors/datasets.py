"""Read queries for uploaded datasets; a non-member's lookup is "not found"."""

from __future__ import annotations

from django.db.models import QuerySet

from ..access import require_role, workspace_ids_for
from ..errors import NotFound
from ..models import Dataset, Role


def dataset_list(*, user, workspace_id: int | None = None) -> QuerySet[Dataset]:
    """Datasets of every workspace ``user`` is a member of (or of ``workspace_id`` only),
    newest first, without their profiles."""
    datasets = Dataset.objects.filter(workspace_id__in=workspace_ids_for(user))
    if workspace_id is not None:
        datasets = datasets.filter(workspace_id=workspace_id)
    return datasets.defer("profile").select_related("workspace", "created_by").order_by("-created_at")


def dataset_get(*, user, dataset_id: int, role: str = Role.VIEWER) -> Dataset:
    """One dataset; NotFound when it does not exist or ``user`` is not a member of its workspace."""
    dataset = Dataset.objects.select_related("workspace", "created_by").filter(pk=dataset_id).first()
    if dataset is None:
        raise NotFound("dataset not found")
    require_role(user, dataset.workspace_id, role, what="dataset")
    return dataset


def dataset_versions(*, dataset: Dataset) -> QuerySet[Dataset]:
    """Every upload under ``dataset``'s name in its workspace, newest version first (access already checked)."""
    return (
        Dataset.objects.filter(workspace_id=dataset.workspace_id, name=dataset.name)
        .only("id", "version", "n_rows", "created_at")
        .order_by("-version")
    )
