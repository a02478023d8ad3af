"""Model card pages: the card (with its charts), edits by editors, revisions and a diff."""

from __future__ import annotations

from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods

from ..access import has_role
from ..errors import ApplicationError, NotFound, PermissionDenied
from ..models import ModelVersion, Role
from ..selectors.registry import model_version_get
from ..services.cards import EDITABLE, card_build, card_diff, card_edit, card_revisions
from .common import error_page


def _bars(rows: list[tuple[str, float]]) -> list[dict[str, Any]]:
    top = max((abs(v) for _, v in rows), default=0) or 1
    return [{"label": label, "value": v, "width": round(100 * abs(v) / top, 1)} for label, v in rows]


def card_charts(card: dict[str, Any]) -> dict[str, Any]:
    """Bar charts of the card's comparable numbers: each metric by group, and top features."""
    metrics: dict[str, list[tuple[str, float]]] = {}
    for row in card["quantitative_analysis"]["by_group"]:
        # Kept as given: a count stays an int, so it reads "1,064", not "1,064.0".
        if isinstance(row["value"], int | float) and not isinstance(row["value"], bool):
            metrics.setdefault(row["type"], []).append((row["slice"], row["value"]))
    features = [
        {"method": block["method"], "node": block["node"],
         "bars": _bars([(r["feature"], float(r.get("importance") or 0)) for r in block["features"]])}
        for block in card["explainability"]["top_features"]
    ]
    return {
        "group_charts": [{"metric": name, "bars": _bars(rows)} for name, rows in metrics.items()],
        "feature_charts": features,
    }


def card_context(card: dict[str, Any]) -> dict[str, Any]:
    return {"card": card, **card_charts(card)}


def _page_with_form(view):
    """Like ``common.page`` (404/403 pages in our layout) but also taking the page's form POST."""

    @wraps(view)
    @login_required
    @require_http_methods(["GET", "POST"])
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            return error_page(request, 404, "Not found", exc.message)
        except PermissionDenied as exc:
            return error_page(request, 403, "Not allowed", exc.message)

    return wrapper


@_page_with_form
def model_card_page(request, version_id: int):
    version: ModelVersion = model_version_get(user=request.user, version_id=version_id)
    can_edit = has_role(request.user, version.registered_model.workspace_id, Role.EDITOR)
    error = None
    if request.method == "POST":
        if not can_edit:
            return error_page(request, 403, "Not allowed", "editing a model card needs the editor role")
        try:
            card_edit(user=request.user, version=version,
                      fields={f: request.POST.get(f, "") for f in EDITABLE})
            return redirect(f"/models/{version.pk}/card/")
        except ApplicationError as exc:
            error = exc.message
    revision = request.GET.get("revision")
    revision = int(revision) if revision and revision.isdigit() and len(revision) < 9 else None
    try:
        card = card_build(version=version, revision=revision)
    except ApplicationError:
        card = card_build(version=version)
    revisions = card_revisions(version=version)
    changes = []
    if card["revision"]["number"] > 0:
        changes = card_diff(card_build(version=version, revision=card["revision"]["number"] - 1), card)
    return render(request, "registry/model_card.html", {
        "nav": "models", "version": version, "model": version.registered_model, "can_edit": can_edit,
        "revisions": revisions, "changes": changes, "error": error, **card_context(card),
    })


urlpatterns = [
    path("models/<int:version_id>/card/", model_card_page, name="page-model-card"),
]
