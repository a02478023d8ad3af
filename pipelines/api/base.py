from __future__ import annotations

from rest_framework.pagination import LimitOffsetPagination
from rest_framework.views import APIView

from ..errors import ApplicationError
from ..inputs import MAX_ID

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class Paginated(LimitOffsetPagination):
    """``?limit=&offset=`` pages answered as ``{"count", "next", "previous", "results"}``.

    A limit or offset that is not a whole number in range is a 400 naming it, not
    silently the default: what the schema promises is what the server takes.
    """

    default_limit = 50
    max_limit = 500

    def get_limit(self, request):
        return self._param(request, self.limit_query_param, self.default_limit, 1, self.max_limit)

    def get_offset(self, request):
        return self._param(request, self.offset_query_param, 0, 0, MAX_ID)

    @staticmethod
    def _param(request, name: str, default: int, low: int, high: int) -> int:
        raw = request.query_params.get(name)
        if raw is None:
            return default
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 19 and low <= int(raw) <= high):
            raise ApplicationError(
                f"{name} must be a whole number from {low} to {high}", details={"field": name}
            )
        return int(raw)

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.limit_query_param, "required": False, "in": "query",
                "description": f"Number of results to return per page (default {self.default_limit}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_limit},
            },
            {
                "name": self.offset_query_param, "required": False, "in": "query",
                "description": "The initial index from which to return the results.",
                "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ID},
            },
        ]


def paginate(view: APIView, queryset, serializer_class, *, context=None):
    paginator = getattr(view, "pagination_class", Paginated)()
    page = paginator.paginate_queryset(queryset, view.request, view=view)
    data = serializer_class(page, many=True, context=context or {}).data
    return paginator.get_paginated_response(data)


def run_status_param(request) -> str | None:
    """``?status=``: one of the run statuses, or absent."""
    from ..models import RunStatus

    value = request.query_params.get("status")
    if value and value not in RunStatus.values:
        raise ApplicationError(
            f"status must be one of {', '.join(RunStatus.values)}", details={"field": "status"}
        )
    return value or None


def bool_param(value, default: bool, *, field: str = "value") -> bool:
    """A boolean from JSON or a query string; anything but the usual spellings is a 400."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ApplicationError(f"{field} must be true or false", details={"field": field})
