from __future__ import annotations

from rest_framework.pagination import LimitOffsetPagination
from rest_framework.views import APIView


class Paginated(LimitOffsetPagination):
    default_limit = 50
    max_limit = 500


def paginate(view: APIView, queryset, serializer_class, *, context=None):
    paginator = Paginated()
    page = paginator.paginate_queryset(queryset, view.request, view=view)
    data = serializer_class(page, many=True, context=context or {}).data
    return paginator.get_paginated_response(data)


def bool_param(value, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).lower() in {"1", "true", "yes", "on"}
