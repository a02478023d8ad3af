"""What every server-rendered page shares: login, GET only, domain errors as our error pages.

Objects of a workspace the user is not a member of answer 404 (never 403),
like the API: the selectors raise ``NotFound`` and ``page`` turns the domain
errors into Django's, rendered in the app layout.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ..access import has_role
from ..errors import NotFound, PermissionDenied
from ..models import Role


def page(view):
    """Login required; NotFound → a 404 page, PermissionDenied → a 403 page, in our layout."""

    @wraps(view)
    @login_required
    @require_GET
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except (NotFound, Http404) as exc:
            message = exc.message if isinstance(exc, NotFound) else (str(exc) or "not found")
            return error_page(request, 404, "Not found", message)
        except (PermissionDenied, HttpForbidden) as exc:
            message = getattr(exc, "message", "") or "you may not see this"
            return error_page(request, 403, "Not allowed", message)

    return wrapper


_HINTS = {
    404: "It may have been deleted, or it belongs to a workspace you are not a member of.",
    403: "Ask an admin of the workspace for a role that allows it.",
}


def error_page(request, status: int, title: str, message: str) -> HttpResponse:
    """An error answered as a page in the site's layout (also handler404/handler403's)."""
    return render(
        request,
        "pages/error.html",
        {"status": status, "title": title, "message": message, "hint": _HINTS.get(status, "")},
        status=status,
    )


def can_edit(user, workspace_id: int) -> bool:
    """Whether ``user`` may change things in the workspace (editor role or higher)."""
    return has_role(user, workspace_id, Role.EDITOR)
