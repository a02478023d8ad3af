"""Canonical JSON for cache keys and hashes."""

from __future__ import annotations

import json
from typing import Any


def canonical_params(params: dict[str, Any]) -> str:
    """``params`` as canonical JSON: sorted keys, no whitespace, ASCII only.

    Equal params give equal strings whatever their key order. ``1`` and ``1.0``
    stay different on purpose (scikit-learn may read them differently); integer
    params are already normalised by ``validate_params``. Raises ``ValueError``
    for NaN/Infinity and ``TypeError`` for values that are not JSON, rather than
    producing a key that silently collides.
    """
    return json.dumps(params, sort_keys=True, separators=(",", ":"), allow_nan=False)
