"""Prediction, feedback and Open Inference Protocol (KServe V2) endpoints.

Plain Django views rather than DRF: these are machine APIs on the hot path.
They take a deployment key (``Authorization: Bearer``) or a member's token
(``Authorization: Token``), so CSRF does not apply to them; a browser session
(the "try it" form) is accepted only with a valid CSRF token. The same
functions serve the ASGI fast path (``pipelines.serving.asgi``). Refusals are
raised as ``ApplicationError`` and answered by ``api.errors.ApplicationErrorMiddleware``
(the Open Inference Protocol's error shape under ``/v2/``).
"""

from __future__ import annotations

import time

from django.http import HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from ..access import member_role, role_allows
from ..errors import PermissionDenied
from ..models import Deployment
from ..serving import handler
from ..serving.state import served_for


def _json(status: int, body, headers: dict[str, str] | None = None) -> HttpResponse:
    response = HttpResponse(handler.dumps(body), status=status, content_type="application/json")
    for k, v in (headers or {}).items():
        response[k] = v
    return response


def _session_user(request):
    """The logged-in user when the request has no Authorization header and passes CSRF."""
    if request.META.get("HTTP_AUTHORIZATION"):
        return None
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    if CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {}) is not None:
        raise PermissionDenied("CSRF check failed: send the X-CSRFToken header")
    return user


def _prepare(request, name: str):
    return handler.prepare(name, request.META.get("HTTP_AUTHORIZATION"), _session_user(request))


@csrf_exempt
@require_POST
def predict(request, name: str):
    started = time.perf_counter()
    explain = handler.explain_param(request.GET.get("explain"))
    served, model = _prepare(request, name)
    status, body, headers = handler.predict_json(
        served, model, request.body, request_id=request.META.get("HTTP_X_REQUEST_ID"), started=started,
        explain=explain,
    )
    return _json(status, body, headers)


def _require_editor(served, authorization: str | None, session_user) -> None:
    """Ground truth changes what monitoring reports: members need the editor role
    (the deployment's own key is for the application that owns the labels)."""
    from rest_framework.authtoken.models import Token

    from ..models import Role

    user = session_user
    if authorization and authorization.lower().startswith("token "):
        token = Token.objects.select_related("user").filter(key=authorization[6:].strip()).first()
        user = token.user if token else None
    role = member_role(user, served.workspace_id) if user is not None else None
    if not role_allows(role, Role.EDITOR):
        raise PermissionDenied(
            f"posting ground truth needs the editor role (yours is {role or 'none'}) or the deployment's key"
        )


@csrf_exempt
@require_POST
def feedback(request, name: str):
    from ..services.deployments import prediction_feedback

    session_user = _session_user(request)
    authorization = request.META.get("HTTP_AUTHORIZATION")
    served, how = served_for(name, authorization, session_user)
    if how != "key":
        _require_editor(served, authorization, session_user)
    items = handler.parse_json(request.body)
    deployment = Deployment.objects.get(pk=served.deployment_id)
    return _json(200, prediction_feedback(deployment=deployment, items=items))


# --- V2 -------------------------------------------------------------------------------


@csrf_exempt  # read-only: any other method answers 405, not a CSRF page
@require_GET
def v2_server(request):
    return _json(200, handler.V2_SERVER)


@csrf_exempt  # read-only: any other method answers 405, not a CSRF page
@require_GET
def v2_live(request):
    return _json(200, {"live": True})


@csrf_exempt  # read-only: any other method answers 405, not a CSRF page
@require_GET
def v2_ready(request):
    from django.db import connection

    try:
        connection.ensure_connection()
    except Exception:  # noqa: BLE001 - not ready while the database is unreachable
        return _json(503, {"ready": False, "error": "the database is unreachable"})
    return _json(200, {"ready": True})


@csrf_exempt  # read-only: any other method answers 405, not a CSRF page
@require_GET
def v2_model(request, name: str):
    served, _ = _prepare(request, name)
    return _json(200, handler.v2_metadata(served))


@csrf_exempt  # read-only: any other method answers 405, not a CSRF page
@require_GET
def v2_model_ready(request, name: str):
    _prepare(request, name)
    return _json(200, {"name": name, "ready": True})


@csrf_exempt
@require_POST
def v2_infer(request, name: str):
    started = time.perf_counter()
    prepared = _prepare(request, name)
    status, body, headers = handler.infer_v2(
        *prepared, request.body, request_id=request.META.get("HTTP_X_REQUEST_ID"), started=started
    )
    return _json(status, body, headers)
