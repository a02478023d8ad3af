"""The API's JSON parser: DRF's, after refusing bodies nested too deeply.

Nesting deeper than ``settings.JSON_MAX_DEPTH`` (default 32) answers 400 naming
the depth, before anything parses or walks the body recursively (the parser, the
NUL check, ``copy.deepcopy`` of graph params), any of which would otherwise end in
RecursionError and a 500. The serving endpoints make the same check
(``serving.handler.parse_json``).
"""

from __future__ import annotations

import io

from django.conf import settings
from rest_framework.parsers import JSONParser

from ..inputs import json_depth_refuse


class DepthLimitedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read()
        json_depth_refuse(raw, limit=settings.JSON_MAX_DEPTH)
        return super().parse(io.BytesIO(raw), media_type, parser_context)
