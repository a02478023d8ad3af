"""Datasets pages: upload a CSV, see its inferred column types and first rows."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import path

from ..access import workspace_for
from ..errors import ApplicationError, NotFound
from ..inputs import optional_id
from ..models import Role
from ..selectors.datasets import dataset_get, dataset_list
from ..selectors.workspaces import workspace_list
from ..services.datasets import dataset_upload
from .common import error_page as _error_page
from .common import page as _page


@login_required
def dataset_list_page(request):
    """GET lists the datasets of the user's workspaces; POST uploads a CSV."""
    error = None
    if request.method == "POST":
        upload = request.FILES.get("file")
        workspace_id = request.POST.get("workspace") or None
        try:
            if upload is None:
                raise ApplicationError("choose a CSV file to upload", details={"field": "file"})
            workspace = workspace_for(request.user, optional_id(workspace_id, field="workspace"), Role.EDITOR)
            dataset = dataset_upload(
                workspace=workspace,
                user=request.user,
                name=request.POST.get("name", "").strip() or upload.name.rsplit(".", 1)[0],
                filename=upload.name,
                data=upload.read(),
            )
        except NotFound:
            return _error_page(request, 404, "Not found", "workspace not found")
        except ApplicationError as exc:
            error = {"message": exc.message, **exc.details}
        else:
            messages.success(request, f"Uploaded {dataset.name}: {dataset.n_rows} rows, {len(dataset.columns)} columns.")
            return redirect(f"/datasets/{dataset.pk}/")
    datasets = dataset_list(user=request.user)
    return render(
        request,
        "pages/datasets.html",
        {
            "nav": "datasets",
            "datasets": datasets,
            "workspaces": workspace_list(user=request.user, role=Role.EDITOR),
            "error": error,
        },
        status=400 if error else 200,
    )


@_page
def dataset_detail_page(request, dataset_id: int):
    dataset = dataset_get(user=request.user, dataset_id=dataset_id)
    return render(request, "pages/dataset_detail.html", {"nav": "datasets", "dataset": dataset})


urlpatterns = [
    path("datasets/", dataset_list_page, name="page-datasets"),
    path("datasets/<int:dataset_id>/", dataset_detail_page, name="page-dataset"),
]
