"""Datasets pages: upload a CSV, see its inferred column types and first rows."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from ..access import workspace_for
from ..errors import ApplicationError, NotFound
from ..inputs import optional_id
from ..models import Role
from ..selectors.connections import connection_list
from ..selectors.datasets import dataset_get, dataset_list, dataset_versions
from ..selectors.workspaces import workspace_list
from ..services.dataset_manage import dataset_usage
from ..services.datasets import dataset_check_size, dataset_upload, size_text
from .common import can_edit
from .common import error_page as _error_page
from .common import page as _page


class _UploadSizeLimit(FileUploadHandler):
    """Stops reading the request body as soon as an upload is known to be too large.

    Either Content-Length says so (checked when the file part begins, so the
    form fields before it, the CSRF token among them, are still read), or the
    file's bytes pass DATASET_MAX_BYTES as they arrive. Nothing past that
    point is read: not into memory, not into a temporary file.
    """

    # Room for the form fields and multipart framing around the file (as the
    # API's body limit allows).
    SLACK = 1024 * 1024

    def __init__(self, request=None):
        super().__init__(request)
        self.limit = settings.DATASET_MAX_BYTES
        self.body_length = 0
        self.refusal: ApplicationError | None = None

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.body_length = content_length or 0

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        if self.body_length > self.limit + self.SLACK:
            self._refuse(f"the upload is {size_text(self.body_length)}; the limit is {size_text(self.limit)}")

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            self._refuse(f"the file is larger than {size_text(self.limit)}, the limit")
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handlers store the file

    def _refuse(self, message: str) -> None:
        self.refusal = ApplicationError(message, status=413, details={"field": "file"})
        raise StopUpload(connection_reset=True)


@csrf_exempt  # the CSRF check runs in _dataset_list_page, once the size limit is in place
@login_required
def dataset_list_page(request):
    """GET lists the datasets of the user's workspaces; POST uploads a CSV.

    Upload handlers must be set before anything parses the body, and the CSRF
    middleware parses it to find the token: hence csrf_exempt here and
    csrf_protect on the view that does the work (Django's documented way).
    """
    limit = _UploadSizeLimit(request)
    if request.method == "POST":
        request.upload_handlers.insert(0, limit)
    return _dataset_list_page(request, limit)


@csrf_protect
def _dataset_list_page(request, limit: _UploadSizeLimit):
    error = None
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        workspace_id = request.POST.get("workspace") or None
        try:
            if limit.refusal is not None:
                raise limit.refusal
            if upload is None:
                raise ApplicationError("choose a CSV or Parquet file to upload", details={"field": "file"})
            dataset_check_size(size=upload.size)
            workspace = workspace_for(request.user, optional_id(workspace_id, field="workspace"), Role.EDITOR)
            dataset = dataset_upload(
                workspace=workspace,
                user=request.user,
                name=request.POST.get("name", "").strip() or upload.name.rsplit(".", 1)[0],
                filename=upload.name,
                data=upload.file,  # read in chunks by the parser, never whole
                delimiter=request.POST.get("delimiter") or "auto",
                decimal=request.POST.get("decimal") or "auto",
                encoding=request.POST.get("encoding") or "auto",
                short_lines=request.POST.get("short_lines") or "refuse",
            )
        except NotFound:
            return _error_page(request, 404, "Not found", "workspace not found")
        except ApplicationError as exc:
            error = {"message": exc.message, **exc.details}
            status = exc.status
        else:
            messages.success(request, f"Uploaded {dataset.name}: {dataset.n_rows} rows, {len(dataset.columns)} columns.")
            return redirect(f"/datasets/{dataset.pk}/")
    datasets = list(dataset_list(user=request.user))
    for dataset in datasets:
        dataset.can_edit = can_edit(request.user, dataset.workspace_id)  # roles are read once per request
    connections = list(connection_list(user=request.user))
    for connection in connections:
        connection.can_edit = can_edit(request.user, connection.workspace_id)
    return render(
        request,
        "pages/datasets.html",
        {
            "nav": "datasets",
            "datasets": datasets,
            "connections": connections,
            "workspaces": workspace_list(user=request.user, role=Role.EDITOR),
            "error": error,
            # After a refusal the form keeps what was chosen, so one option can be changed and the file sent again.
            "chosen": {k: request.POST.get(k, "") for k in ("name", "delimiter", "decimal", "encoding", "short_lines")}
            if error
            else {},
        },
        status=status,
    )


@_page
def dataset_detail_page(request, dataset_id: int):
    dataset = dataset_get(user=request.user, dataset_id=dataset_id)
    versions = list(dataset_versions(dataset=dataset))
    return render(
        request,
        "pages/dataset_detail.html",
        {
            "nav": "datasets",
            "dataset": dataset,
            "can_edit": can_edit(request.user, dataset.workspace_id),
            "usage": dataset_usage(dataset=dataset),
            "profile": _profile_display(dataset.profile, dataset.n_rows),
            "versions": versions,
        },
    )


def _profile_display(profile: dict, n_rows: int) -> list[dict]:
    """The stored profile with bar sizes (0-100) for the page's small charts."""
    columns = []
    for column in profile.get("columns", []):
        shown = dict(column)
        histogram = column.get("histogram")
        if histogram:
            counts, edges = histogram["counts"], histogram["edges"]
            peak = max(counts) or 1
            shown["bars"] = [
                {"height": round(100 * c / peak, 1), "count": c, "low": edges[i], "high": edges[i + 1]}
                for i, c in enumerate(counts)
            ]
        # A column of all-different values (ids, free text) has no top values worth drawing.
        shown["all_distinct"] = column["kind"] == "text" and column["distinct"] > 5 and (
            column["distinct"] == n_rows - column["missing"]
        )
        shown["top_bars"] = [
            {**t, "width": round(100 * t["count"] / n_rows, 1) if n_rows else 0} for t in column.get("top", [])
        ]
        columns.append(shown)
    return columns


urlpatterns = [
    path("datasets/", dataset_list_page, name="page-datasets"),
    path("datasets/<int:dataset_id>/", dataset_detail_page, name="page-dataset"),
]
