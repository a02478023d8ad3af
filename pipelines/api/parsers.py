"""The API's JSON parser: DRF's, after refusing bodies nested too deeply.

Nesting deeper than ``settings.JSON_MAX_DEPTH`` (default 32) answers 400 naming
the depth, before anything parses or walks the body recursively (the parser, the
NUL check, ``copy.deepcopy`` of graph params), any of which would otherwise end in
RecursionError and a 500. The serving endpoints make the same check
(``serving.handler.parse_json``).

``YAMLParser`` (pipeline import and push only) applies the same limits to YAML.
"""

from __future__ import annotations

import io

import yaml
from django.conf import settings
from rest_framework.parsers import BaseParser, JSONParser

from ..errors import ApplicationError
from ..inputs import json_depth_refuse


class DepthLimitedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read()
        json_depth_refuse(raw, limit=settings.JSON_MAX_DEPTH)
        return super().parse(io.BytesIO(raw), media_type, parser_context)


MAX_YAML_BYTES = 2 * 1024 * 1024


class _JsonOnlyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that builds only what JSON has: dates stay strings and the
    ``!!timestamp``, ``!!binary``, ``!!set``, ``!!omap`` and ``!!pairs`` tags are refused."""


_JsonOnlyLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_JsonOnlyLoader.yaml_constructors = {
    tag: constructor
    for tag, constructor in yaml.SafeLoader.yaml_constructors.items()
    if tag not in {f"tag:yaml.org,2002:{t}" for t in ("timestamp", "binary", "set", "omap", "pairs")}
}


def yaml_document_load(raw: bytes, *, limit: int) -> object:
    """Parse a YAML document the way the JSON parser treats JSON: size and depth limited.

    The event stream is walked first (nothing is built): nesting deeper than
    ``limit`` and aliases (``*ref``, which can expand a small text into a huge
    tree: "billion laughs") are refused with a 400 before any object exists.
    """
    if len(raw) > MAX_YAML_BYTES:
        raise ApplicationError(
            f"the YAML body is {len(raw)} bytes; at most {MAX_YAML_BYTES} are allowed", status=413, field="body"
        )
    try:
        text = raw.decode("utf-8")
        depth = 0
        for event in yaml.parse(text, Loader=_JsonOnlyLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise ApplicationError("YAML anchors and aliases (&, *) are not allowed", field="body")
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > limit:
                    raise ApplicationError(
                        f"the YAML body nests mappings and lists more than {limit} levels deep", field="body"
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        documents = list(yaml.load_all(text, Loader=_JsonOnlyLoader))  # noqa: S506 - a SafeLoader subclass
    except UnicodeDecodeError as exc:
        raise ApplicationError("the YAML body is not UTF-8 text", field="body") from exc
    except yaml.YAMLError as exc:
        raise ApplicationError(f"the body is not valid YAML: {exc}".strip(), field="body") from exc
    if len(documents) != 1:
        raise ApplicationError(f"send one YAML document (got {len(documents)})", field="body")
    return documents[0]


class YAMLParser(BaseParser):
    media_type = "application/yaml"

    def parse(self, stream, media_type=None, parser_context=None):
        return yaml_document_load(stream.read(), limit=settings.JSON_MAX_DEPTH)


class LegacyYAMLParser(YAMLParser):
    """The older names clients still send (``application/x-yaml``, ``text/yaml``)."""

    media_type = "application/x-yaml"


class TextYAMLParser(YAMLParser):
    media_type = "text/yaml"
