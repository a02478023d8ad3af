"""Downloads of step outputs: tables as spreadsheet-safe CSV, objects and JSON as stored.

Only the artifacts a step's ``outputs`` name are served, to members of the
run's workspace; anything else is a 404.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.urls import NoReverseMatch, path, reverse

from ..execution.artifacts import JSON, TABLE, ArtifactError
from ..models import StepRun
from ..selectors.runs import run_get, run_step_get
from ..services.artifacts import artifact_store
from .common import page
from .csv_export import write_csv

_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")
EXTENSIONS = {TABLE: "csv", "object": "joblib", JSON: "json"}


def download_name(run_id: int, node_id: str, port: str, kind: str) -> str:
    """``run7-split-train.csv``: safe in a Content-Disposition header and on any disk."""
    stem = _SAFE_NAME.sub("_", f"run{run_id}-{node_id}-{port}")
    return f"{stem}.{EXTENSIONS.get(kind, 'bin')}"


@dataclass(frozen=True)
class Download:
    """A download button on the run detail page."""

    port: str
    kind: str
    name: str
    ext: str
    url: str


def step_downloads(run_id: int, step: StepRun) -> list[Download]:
    """One link per stored output of ``step``; ids that cannot be a path segment get none."""
    links = []
    for port, ref in (step.outputs or {}).items():
        if not (isinstance(ref, dict) and ref.get("sha256")):
            continue
        kind = str(ref.get("kind", ""))
        try:
            url = reverse(
                "page-step-output", kwargs={"run_id": run_id, "node_id": step.node_id, "port": port}
            )
        except NoReverseMatch:  # an id with a "/" cannot be a path segment
            continue
        links.append(
            Download(
                port=port,
                kind=kind,
                name=download_name(run_id, step.node_id, port, kind),
                ext=EXTENSIONS.get(kind, "bin"),
                url=url,
            )
        )
    return links


@page
def step_output_download(request, run_id: int, node_id: str, port: str):
    """One output of one step. Only artifacts the step's outputs name are served."""
    run = run_get(user=request.user, run_id=run_id)
    step = run_step_get(run=run, node_id=node_id)
    ref = (step.outputs or {}).get(port) if step is not None else None
    if not isinstance(ref, dict) or not ref.get("sha256"):
        raise Http404("this step has no such output")
    sha, kind = str(ref["sha256"]), str(ref.get("kind", ""))
    filename = download_name(run.pk, node_id, port, kind)
    store = artifact_store()
    try:
        if kind == TABLE:
            frame = store.load(sha, TABLE)
            response = HttpResponse(content_type="text/csv; charset=utf-8")
            write_csv(frame, response)
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
            return response
        # A store that can sign URLs serves the bytes itself, for five minutes.
        url = store.presigned_url(sha, filename=filename)
        if url:
            return HttpResponseRedirect(url)
        handle = store.open_stream(sha)  # FileResponse closes it
    except (ArtifactError, FileNotFoundError) as exc:
        raise Http404(f"the artifact is not available: {exc}") from exc
    content_type = "application/json" if kind == JSON else "application/octet-stream"
    return FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)


urlpatterns = [
    path(
        "runs/<int:run_id>/steps/<str:node_id>/outputs/<str:port>/",
        step_output_download,
        name="page-step-output",
    ),
]
