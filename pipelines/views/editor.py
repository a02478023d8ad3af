"""The pipeline editor page (the React app in frontend/) and the "new pipeline" page.

The editor is a Vite build: ``frontend/dist/.vite/manifest.json`` maps the entry
``src/main.tsx`` to hashed files under ``frontend/dist/assets/``, which Django
serves at ``/static/assets/…`` (STATICFILES_DIRS + whitenoise). Everything the
app needs besides the pipeline id and the read-only flag comes from the JSON API.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods

from ..access import workspace_for
from ..demo import DEMO_PIPELINES
from ..errors import ApplicationError, NotFound, PermissionDenied
from ..inputs import is_id
from ..models import Role
from ..selectors.pipelines import pipeline_get
from ..services.pipelines import MAX_NAME, pipeline_create
from .graph_svg import graph_svg

logger = logging.getLogger(__name__)

VITE_ENTRY = "src/main.tsx"
_manifest_cache: dict[str, Any] = {"key": None, "data": None}


def vite_manifest_path() -> Path:
    dist = Path(getattr(settings, "FRONTEND_DIST", Path(settings.BASE_DIR) / "frontend" / "dist"))
    return dist / ".vite" / "manifest.json"


def vite_assets(entry: str = VITE_ENTRY) -> dict[str, list[str]] | None:
    """Static paths of ``entry``'s JS and CSS from the Vite manifest, or None if not built.

    ``js`` is the entry file (the one ``<script type="module">``), ``preload``
    the shared chunks it imports (for ``<link rel="modulepreload">``), ``css``
    the stylesheets of the entry and of every chunk it imports, transitively.
    Re-read whenever the manifest file changes, so a rebuild needs no restart
    for the template (whitenoise may still need one to find new files).
    """
    manifest = vite_manifest_path()
    try:
        mtime = manifest.stat().st_mtime
    except OSError:
        return None
    if _manifest_cache["key"] != (manifest, mtime):
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            logger.warning("cannot read the Vite manifest at %s", manifest)
            return None
        _manifest_cache.update(key=(manifest, mtime), data=data)
    chunks = _manifest_cache["data"] or {}
    chunk = chunks.get(entry)
    if not chunk:
        return None
    css: list[str] = []
    preload: list[str] = []
    seen: set[str] = set()
    pending = [entry]
    while pending:
        name = pending.pop(0)
        if name in seen or name not in chunks:
            continue
        seen.add(name)
        item = chunks[name]
        if name != entry:
            preload.append(item["file"])
        css.extend(c for c in item.get("css", []) if c not in css)
        pending.extend(item.get("imports", []))
    return {"js": [chunk["file"]], "preload": preload, "css": css}


@login_required
def pipeline_edit_page(request: HttpRequest, pipeline_id: int) -> HttpResponse:
    """The editor. Editors and admins edit; viewers get it read-only; others 404."""
    read_only = False
    try:
        try:
            pipeline = pipeline_get(user=request.user, pipeline_id=pipeline_id, role=Role.EDITOR)
        except PermissionDenied:
            pipeline = pipeline_get(user=request.user, pipeline_id=pipeline_id, role=Role.VIEWER)
            read_only = True
    except (NotFound, PermissionDenied) as exc:
        raise Http404("pipeline not found") from exc
    return render(
        request,
        "editor.html",
        {
            "pipeline": pipeline,
            "assets": vite_assets(),
            "editor_config": {"pipeline_id": pipeline.pk, "read_only": read_only},
            "nav": "pipelines",
        },
    )


def _templates() -> list[dict[str, Any]]:
    out = []
    for index, demo in enumerate(DEMO_PIPELINES):
        graph = demo["graph"]()
        out.append(
            {
                "key": str(index),
                "name": demo["name"],
                "description": demo["description"],
                "blocks": len(graph["nodes"]),
                "svg": graph_svg(graph),
            }
        )
    return out


@login_required
@require_http_methods(["GET", "POST"])
def pipeline_new_page(request: HttpRequest) -> HttpResponse:
    """GET: empty pipeline or a template. POST: create it and open the editor."""
    templates = _templates()
    error = ""
    chosen = request.POST.get("template", "") if request.method == "POST" else ""
    name = request.POST.get("name", "").strip() if request.method == "POST" else ""
    if request.method == "POST":
        graph: dict | None = None
        description = ""
        default_name = "Untitled pipeline"
        if chosen:
            if not is_id(chosen) or int(chosen) >= len(DEMO_PIPELINES):
                error = "Pick one of the templates shown."
            else:
                demo = DEMO_PIPELINES[int(chosen)]
                graph = demo["graph"]()
                description = demo["description"]
                default_name = demo["name"]
        if len(name) > MAX_NAME:
            error = f"The name can have at most {MAX_NAME} characters."
        elif "\x00" in name:
            error = "The name holds a NUL character; remove it."
        if not error:
            try:
                workspace = workspace_for(request.user, None, Role.EDITOR)
                pipeline = pipeline_create(
                    workspace=workspace,
                    user=request.user,
                    name=name or default_name,
                    description=description,
                    graph=graph,
                )
            except ApplicationError as exc:
                error = exc.message
            else:
                return redirect(f"/pipelines/{pipeline.pk}/edit/")
    return render(
        request,
        "pipeline_new.html",
        {
            "templates": templates,
            "error": error,
            "chosen": chosen,
            "name": name,
            "nav": "pipelines",
            "max_name": MAX_NAME,
        },
        status=400 if error else 200,
    )


urlpatterns = [
    path("pipelines/new/", pipeline_new_page, name="page-pipeline-new"),
    path("pipelines/<int:pipeline_id>/edit/", pipeline_edit_page, name="page-pipeline-edit"),
]
