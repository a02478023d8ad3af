"""The one domain exception. Services raise it; the API turns it into JSON."""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """Something the caller asked for cannot be done.

    ``status`` is the HTTP status the API answers with; ``details`` is merged
    into the JSON body (e.g. ``{"errors": {node_id: [...]}}`` or ``{"field": "name"}``).
    """

    status = 400

    def __init__(self, message: str, *, status: int | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.details = details or {}


class NotFound(ApplicationError):
    status = 404


class PermissionDenied(ApplicationError):
    status = 403


class Conflict(ApplicationError):
    status = 409
