"""Turning errors into JSON: one place for the whole API."""

from __future__ import annotations

import logging

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
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


def exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        return Response({"detail": exc.message, **exc.details}, status=exc.status)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": "the request body is too large"}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
        )
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return Response(
            {"detail": _flatten(exc.detail), "fields": fields}, status=status.HTTP_400_BAD_REQUEST
        )
    if isinstance(exc, exceptions.ParseError):
        return Response(
            {"detail": f"the request body is not valid JSON: {exc.detail}"},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, Http404):
        return Response({"detail": "not found"}, status=status.HTTP_404_NOT_FOUND)
    return drf_exception_handler(exc, context)


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
                return JsonResponse(
                    {"detail": f"the request body is {length} bytes; the limit is {limit} bytes"},
                    status=413,
                )
        return self.get_response(request)


def api_not_found(request, exception=None):
    if request.path.startswith(("/api/", "/v2/")):
        return JsonResponse({"detail": "not found"}, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def api_server_error(request):
    if request.path.startswith(("/api/", "/v2/")):
        return JsonResponse({"detail": "internal error; it has been logged"}, status=500)
    from django.views.defaults import server_error

    return server_error(request)
