"""The one domain exception, and the one place it becomes an HTTP answer.

Services, the serving code (body coercion, keys, model loading) and the pages
raise ``ApplicationError``; ``ApplicationError.reply()`` turns it into
``(status, JSON body, headers)``. The DRF exception handler, the Django serving
views, the ASGI fast path and the page middleware all answer with that reply, so
one refusal reads the same wherever it happens.

Plain Python (no Django): ``serving.coerce`` and ``graph`` import it.
"""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """Something the caller asked for cannot be done.

    - ``status``: the HTTP status of the answer (400 unless a subclass or the
      caller says otherwise).
    - ``field``: the request field to blame (``"body"``, ``"name"``, a column …).
    - ``row``: the row of a batch to blame, when one row is.
    - ``headers``: extra response headers (``WWW-Authenticate``, ``Retry-After``).
    - ``details``: more JSON merged into the body (e.g. ``{"errors": {node_id: [...]}}``).
      A ``"field"`` given in ``details`` is also taken as ``field``.
    """

    status = 400

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        field: str | None = None,
        row: int | None = None,
        headers: dict[str, str] | None = None,
        details: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.details = dict(details or {})
        self.field = field if field is not None else self.details.get("field")
        self.row = row
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The JSON body: ``{"detail": message, "field"?, "row"?, **details}``."""
        out: dict[str, Any] = {"detail": self.message}
        if self.field is not None:
            out["field"] = self.field
        if self.row is not None:
            out["row"] = self.row
        out.update(self.details)
        return out

    def reply(self, *, v2: bool = False) -> tuple[int, dict[str, Any], dict[str, str]]:
        """(status, body, headers). ``v2``: the Open Inference Protocol's error shape,
        which names the message ``error`` (our ``detail`` and ``field`` stay beside it)."""
        body = self.body()
        if v2:
            body = {"error": self.message, **body}
        return self.status, body, dict(self.headers)


class NotFound(ApplicationError):
    status = 404


class PermissionDenied(ApplicationError):
    status = 403


class Conflict(ApplicationError):
    status = 409


class Unauthorized(ApplicationError):
    """No or bad credentials: 401 with the challenge a client needs to retry."""

    status = 401

    def __init__(self, message: str, *, realm: str = "predict", **kwargs: Any):
        headers = {"WWW-Authenticate": f'Bearer realm="{realm}"', **(kwargs.pop("headers", None) or {})}
        super().__init__(message, headers=headers, **kwargs)


class Overloaded(ApplicationError):
    """The process is at capacity; the client should come back shortly."""

    status = 503

    def __init__(self, message: str, *, retry_after: int = 1, **kwargs: Any):
        super().__init__(message, headers={"Retry-After": str(retry_after)}, **kwargs)
