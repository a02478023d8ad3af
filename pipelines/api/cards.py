"""Model cards over the API: the card (JSON, Markdown, printable HTML), edits, revisions, diff."""

from __future__ import annotations

from django.http import HttpResponse
from django.template.loader import render_to_string
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ..errors import NotFound
from ..inputs import MAX_ID, optional_id
from ..models import ModelVersion, Role
from ..services.cards import (
    EDITABLE,
    MAX_TEXT,
    card_build,
    card_diff,
    card_edit,
    card_markdown,
    card_revisions,
)
from ..views.cards import card_context
from .audit import FormatParamNegotiation, _choice
from .delivery import _model
from .fields import StrictCharField
from .schema import error_responses, id_query

FORMATS = ("json", "md", "html")


def _version(request, name: str, number: int, role: str = Role.VIEWER, *, field: str = "version") -> ModelVersion:
    model = _model(request, name, role)
    version = model.versions.select_related("registered_model", "created_by").filter(
        number=number if number <= MAX_ID else -1
    ).first()
    if version is None:
        raise NotFound(f"model {name!r} has no version {number}", field=field)
    return version


def _revision(request, key: str = "revision") -> int | None:
    return optional_id(request.query_params.get(key), field=key)


def _document_formats(json_schema):
    """The card's answers by content type: JSON by default, Markdown or HTML by ``?format=``."""
    return {(200, "application/json"): json_schema, (200, "text/markdown"): OpenApiTypes.STR,
            (200, "text/html"): OpenApiTypes.STR}


def _reply(card: dict, fmt: str, filename: str):
    if fmt == "md":
        response = HttpResponse(card_markdown(card), content_type="text/markdown; charset=utf-8")
        response["Content-Disposition"] = f'inline; filename="{filename}.md"'
        return response
    if fmt == "html":
        return HttpResponse(render_to_string("registry/card_print.html", card_context(card)),
                            content_type="text/html; charset=utf-8")
    return Response(card)


CardOut = inline_serializer("ModelCardOut", {
    "model_details": serializers.DictField(),
    "model_parameters": serializers.DictField(),
    "quantitative_analysis": serializers.DictField(),
    "fairness": serializers.ListField(child=serializers.DictField()),
    "data_bias": serializers.ListField(child=serializers.DictField()),
    "explainability": serializers.DictField(),
    "considerations": serializers.DictField(),
    "monitoring": serializers.ListField(child=serializers.DictField()),
    "revision": serializers.DictField(),
})


class CardIn(serializers.Serializer):
    intended_use = StrictCharField(required=False, allow_blank=True, trim_whitespace=False, max_length=MAX_TEXT)
    limitations = StrictCharField(required=False, allow_blank=True, trim_whitespace=False, max_length=MAX_TEXT)
    ethical_considerations = StrictCharField(required=False, allow_blank=True, trim_whitespace=False,
                                             max_length=MAX_TEXT)


class CardApi(APIView):
    content_negotiation_class = FormatParamNegotiation

    @extend_schema(
        parameters=[id_query("workspace"),
                    OpenApiParameter("format", str, enum=list(FORMATS), description="json (default), md or html"),
                    id_query("revision", description="0: as generated at registration; default: the latest")],
        responses={**_document_formats(CardOut), **error_responses(400, 404)},
    )
    def get(self, request, name: str, number: int):
        fmt = _choice(request.query_params.get("format"), FORMATS, "format") or "json"
        version = _version(request, name, number)
        card = card_build(version=version, revision=_revision(request))
        return _reply(card, fmt, f"{name}-v{number}-card")

    @extend_schema(parameters=[id_query("workspace")], request=CardIn,
                   responses={200: CardOut, **error_responses(400, 403, 404)})
    def put(self, request, name: str, number: int):
        version = _version(request, name, number, Role.EDITOR)
        data = CardIn(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data:  # none of the editable fields: nothing changes, no new revision
            card_edit(user=request.user, version=version, fields=dict(data.validated_data))
        return Response(card_build(version=version))

    patch = put


class CardRevisionListApi(APIView):
    @extend_schema(parameters=[id_query("workspace")], responses={
        200: inline_serializer("CardRevisionOut", {
            "number": serializers.IntegerField(), "by": serializers.CharField(allow_null=True),
            "at": serializers.DateTimeField(), **{f: serializers.CharField() for f in EDITABLE},
        }, many=True),
        **error_responses(404),
    })
    def get(self, request, name: str, number: int):
        version = _version(request, name, number)
        rows = [{"number": r.number, "by": r.created_by.get_username() if r.created_by else None, "at": r.created_at,
                 **{f: getattr(r, f) for f in EDITABLE}} for r in card_revisions(version=version)]
        rows.append({"number": 0, "by": version.created_by.get_username() if version.created_by else None,
                     "at": version.created_at, "intended_use": version.intended_use,
                     "limitations": version.limitations, "ethical_considerations": ""})
        return Response(rows)


class CardDiffApi(APIView):
    @extend_schema(
        parameters=[id_query("workspace"),
                    id_query("revision", description="this version's card revision (default: the one before "
                             "to_revision, or before the latest)"),
                    id_query("to_version", description="compare with this version (default: the same)"),
                    id_query("to_revision", description="…at this revision (default: the latest)")],
        responses={200: inline_serializer("CardDiffOut", {
            "from": serializers.DictField(), "to": serializers.DictField(),
            "changes": serializers.ListField(child=serializers.DictField()),
        }), **error_responses(400, 404)},
    )
    def get(self, request, name: str, number: int):
        version = _version(request, name, number)
        other_number = optional_id(request.query_params.get("to_version"), field="to_version")
        other = _version(request, name, other_number, field="to_version") if other_number is not None else version
        new = card_build(version=other, revision=_revision(request, "to_revision"))
        revision = _revision(request)
        if revision is None and other is version:  # what the latest (or named) revision changed
            revision = max(new["revision"]["number"] - 1, 0)
        old = card_build(version=version, revision=revision)
        return Response({
            "from": {"version": version.number, "revision": old["revision"]["number"]},
            "to": {"version": other.number, "revision": new["revision"]["number"]},
            "changes": card_diff(old, new),
        })
