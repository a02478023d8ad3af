"""Liveness and readiness for load balancers and Kubernetes probes.

``GET /healthz`` answers 200 while the process serves requests (it touches
nothing else, so a database outage does not get every pod restarted);
``GET /readyz`` answers 200 only when the database and the broker (Redis, when
``REDIS_URL`` is set) answer, else 503 naming what failed. Both are answered
before any other middleware: a probe comes from the pod's IP (not in
``ALLOWED_HOSTS``) over plain HTTP (no SSL redirect), and needs no login.
The serving process (ASGI) passes these paths to Django, so it has them too.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

HEALTH_PATHS = ("/healthz", "/readyz")


def readiness() -> dict[str, str]:
    """``{"database": "ok" | error, "broker": "ok" | error}`` (no broker entry without Redis)."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready; say which
        checks["database"] = f"unreachable: {type(exc).__name__}"
    if settings.REDIS_URL:
        import redis

        try:
            redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2).ping()
            checks["broker"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["broker"] = f"unreachable: {type(exc).__name__}"
    return checks


class HealthMiddleware:
    """Answer the probe paths first (see the module docstring); everything else passes."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info.rstrip("/")
        if path not in HEALTH_PATHS:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return JsonResponse({"detail": "use GET"}, status=405)
        if path == "/healthz":
            return JsonResponse({"live": True})
        checks = readiness()
        ready = all(value == "ok" for value in checks.values())
        return JsonResponse({"ready": ready, "checks": checks}, status=200 if ready else 503)
