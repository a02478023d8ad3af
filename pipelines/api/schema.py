"""How the API describes itself in OpenAPI (``/api/schema/``).

Two things are done here once instead of on every view:

- Component names. Views nest their serializers (``PipelineListApi.InputSerializer``);
  drf-spectacular would name every one of them ``Input`` and let the last one win,
  so seven operations documented the token endpoint's body. A nested serializer is
  named after its view instead: ``PipelineListApi.InputSerializer`` → ``PipelineListInput``.
- Error responses. Every error body comes from ``pipelines.api.errors`` (or the serving
  views) and has the shape of ``ErrorOut``. The statuses that follow from how a view is
  built are added here: 400 for a request body or query parameters, 401/403 when
  authentication is needed, 404 for an object in the path, 413/415 for a body. Statuses
  that depend on what the operation does (409, 412, 428, 422 …) are declared on the view
  with ``error_responses``.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import permissions, serializers

from ..inputs import MAX_ID

ERROR_DESCRIPTIONS = {
    400: "Bad input: `detail` says what is wrong, `field` or `fields` where.",
    401: "Authentication required or credentials not valid.",
    403: "Not allowed: the role is too low (or the CSRF check failed).",
    404: "Not found, or not visible to you (ids of other workspaces are never confirmed).",
    409: "Conflict with the current state (e.g. a stale version or a run that already ended).",
    412: "The If-Match header does not name a version.",
    413: "The request body (or the number of rows) is over the limit.",
    415: "The request's Content-Type is not one this operation reads.",
    422: "Well-formed input the model cannot predict on.",
    428: "The write does not say which version it edits.",
    503: "Not ready: the model or the database cannot be reached.",
}


class ErrorOut(serializers.Serializer):
    """Every error body. More keys may be present (e.g. ``current_version``, ``row``)."""

    detail = serializers.CharField(help_text="a human message saying what is wrong")
    field = serializers.CharField(required=False, help_text="the input field (or node id) that is wrong")
    fields = serializers.DictField(
        required=False, help_text="field name → messages, for validation errors of several fields"
    )


class GraphErrorOut(ErrorOut):
    """An error about a pipeline graph: messages keyed by node id."""

    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="node id → messages",
    )
    graph_errors = serializers.ListField(child=serializers.CharField(), required=False)


def error_responses(*codes: int, schema=ErrorOut) -> dict[int, OpenApiResponse]:
    """``{status: OpenApiResponse(ErrorOut)}`` for ``extend_schema(responses=…)``."""
    return {code: OpenApiResponse(schema, description=ERROR_DESCRIPTIONS.get(code, "")) for code in codes}


def _answers_401(view) -> bool:
    """DRF answers 401 only when its first authenticator names a WWW-Authenticate scheme;
    otherwise a missing or wrong credential is a 403."""
    authenticators = view.get_authenticators()
    return bool(authenticators) and bool(authenticators[0].authenticate_header(None))


class ApiAutoSchema(AutoSchema):
    def get_serializer_name(self, serializer, direction) -> str:
        cls = serializer if isinstance(serializer, type) else type(serializer)
        outer, _, inner = cls.__qualname__.rpartition(".")
        if outer and "<locals>" not in outer:
            return outer.rsplit(".", 1)[-1].removesuffix("Api") + inner.removesuffix("Serializer")
        return super().get_serializer_name(serializer, direction)

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        # DRF refuses "" unless allow_blank; say so, or generated "valid" bodies get 400s.
        if (
            direction == "request"
            and isinstance(field, serializers.CharField)
            and not field.allow_blank
            and schema.get("type") == "string"
            and "minLength" not in schema
            and "enum" not in schema
        ):
            schema["minLength"] = 1
        return schema

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        # A model field with a default is optional input, but an output ModelSerializer
        # always renders it: say so, or clients must treat every such field as missing.
        if direction == "response" and isinstance(serializer, serializers.ModelSerializer):
            names = [n for n, f in serializer.fields.items() if not f.write_only]
            if names:
                schema["required"] = names
        return schema

    def _error_statuses(self) -> list[int]:
        if getattr(self.view, "errors_declared", False):
            return []  # the view lists every error status itself
        codes: list[int] = []
        has_body = self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None
        query = [p for p in self._get_parameters() if p.get("in") == "query"]
        if has_body or query:
            codes.append(400)
        perms = [p.__class__ for p in self.view.get_permissions()]
        if permissions.AllowAny not in perms:
            if _answers_401(self.view):
                codes.append(401)
            codes.append(403)
        if "{" in self.path:
            codes.append(404)
        if has_body:
            codes += [413, 415]
        return codes

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in self._error_statuses():
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(
                    OpenApiResponse(ErrorOut, description=ERROR_DESCRIPTIONS[code]), str(code)
                )
        return dict(sorted(responses.items()))


def id_query(name: str, *, required: bool = False, description: str = "") -> OpenApiParameter:
    """A query parameter holding an id, as ``pipelines.inputs.parse_id`` takes it.

    ``explode=False``: the value is the parameter's own (an object or a list sent there
    arrives as ``name=a,b`` and is refused), never spread into other parameters."""
    return OpenApiParameter(
        name, {"type": "integer", "minimum": 0, "maximum": MAX_ID}, required=required,
        description=description, explode=False,
    )


def choice_query(name: str, choices, *, description: str = "") -> OpenApiParameter:
    return OpenApiParameter(name, str, enum=list(choices), description=description)
