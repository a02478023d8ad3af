"""Turning errors into answers: the DRF handler, the page middleware, 404/500 views.

Each answers an ``ApplicationError`` with ``ApplicationError.reply()`` (the one
translation to status, JSON body and headers): DRF views through
``exception_handler``, plain Django views (serving, pages) through
``ApplicationErrorMiddleware`` — JSON under ``/api/`` and ``/v2/``, an HTML page
in the site's layout elsewhere.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ..errors import ApplicationError

logger = logging.getLogger(__name__)


def _flatten(detail) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{k}: {_flatten(v)}" for k, v in detail.items())
    if isinstance(detail, list):
        return " ".join(_flatten(v) for v in detail)
    return str(detail)


def _as_application_error(exc) -> ApplicationError | None:
    """Framework exceptions that are the caller's fault, in our one error type."""
    if isinstance(exc, ApplicationError):
        return exc
    if isinstance(exc, RequestDataTooBig):
        return ApplicationError("the request body is too large", status=413, field="body")
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        # One field at fault: name it the way every other error does, too.
        single = next(iter(fields)) if len(fields) == 1 and "non_field_errors" not in fields else None
        return ApplicationError(_flatten(exc.detail), field=single, details={"fields": fields})
    if isinstance(exc, exceptions.ParseError):
        return ApplicationError(f"the request body is not valid JSON: {exc.detail}", field="body")
    if isinstance(exc, Http404):
        return ApplicationError("not found", status=404)
    return None


def exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER."""
    error = _as_application_error(exc)
    if error is None:
        return drf_exception_handler(exc, context)
    status, body, headers = error.reply()
    return Response(body, status=status, headers=headers)


def _is_api(path: str) -> bool:
    return path.startswith(("/api/", "/v2/"))


def application_error_response(request, error: ApplicationError) -> HttpResponse:
    """The answer to ``error`` outside DRF: its JSON under /api/ and /v2/, else a page."""
    status, body, headers = error.reply(v2=request.path.startswith("/v2/"))
    if _is_api(request.path):
        response: HttpResponse = JsonResponse(body, status=status)
    else:
        try:
            title = HTTPStatus(status).phrase
        except ValueError:
            title = "Error"
        response = render(
            request, "application_error.html", {"status": status, "title": title, "error": body}, status=status
        )
    for key, value in headers.items():
        response[key] = value
    return response


class ApplicationErrorMiddleware:
    """An ``ApplicationError`` escaping a plain Django view (pages, non-DRF API views)
    is answered like everywhere else instead of becoming a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, ApplicationError):
            return application_error_response(request, exception)
        return None


class ApiBodyLimitMiddleware:
    """Answer 413 for oversized API bodies before anything reads them.

    DRF's parsers read the request stream directly, so Django's own
    DATA_UPLOAD_MAX_MEMORY_SIZE check would not stop a huge JSON body.
    Dataset uploads have their own (larger) limit.
    """

    def __init__(self, get_response):
        from django.conf import settings

        self.get_response = get_response
        self.limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        self.upload_limit = settings.DATASET_MAX_BYTES + 1024 * 1024

    def __call__(self, request):
        if request.path.startswith("/api/") or request.path.startswith("/v2/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            limit = self.upload_limit if request.path.startswith("/api/datasets") else self.limit
            if length > limit:
                too_big = ApplicationError(
                    f"the request body is {length} bytes; the limit is {limit} bytes", status=413, field="body"
                )
                return application_error_response(request, too_big)
        return self.get_response(request)


# --- handler404 / handler403 / handler500 -------------------------------------------
# JSON under /api/ and /v2/ (clients parse it), a page in the site's layout elsewhere.

def _error_page(request, status: int, title: str, message: str) -> HttpResponse:
    from ..views.common import error_page  # pages import the API's modules, not the reverse

    return error_page(request, status, title, message)


def api_not_found(request, exception=None):
    """handler404."""
    if _is_api(request.path):
        return JsonResponse({"detail": "not found"}, status=404)
    return _error_page(request, 404, "Page not found", f"nothing is at {request.path}")


def api_permission_denied(request, exception=None):
    """handler403."""
    message = str(exception or "") or "you may not do this"
    if _is_api(request.path):
        return JsonResponse({"detail": message}, status=403)
    return _error_page(request, 403, "Not allowed", message)


def api_server_error(request):
    """handler500. The page is rendered without the request's context (what failed may
    be the database or a context processor), and falls back to plain text."""
    if _is_api(request.path):
        return JsonResponse({"detail": "internal error; it has been logged"}, status=500)
    from django.template import loader

    try:
        body = loader.get_template("500.html").render({"status": 500, "title": "Something went wrong"})
    except Exception:  # the error page must never raise in turn
        logger.exception("the 500 page could not be rendered")
        return HttpResponse("Internal error; it has been logged.", status=500, content_type="text/plain")
    return HttpResponse(body, status=500)
