"""The production entry point: Django's ASGI app with a fast path for predictions.

Run it with uvicorn (README):

    uvicorn pipelines.serving.asgi:application --host 0.0.0.0 --port 8000 \\
        --workers 4 --no-access-log

``POST /api/deployments/{name}/predict`` and the ``/v2/`` Open Inference
Protocol routes are answered here without Django's request/middleware/DRF
stack, by the same functions the Django views use (``serving.handler``), so the
contracts, refusals and logging are identical. Everything else — and any
prediction without an ``Authorization`` header (the browser's "try it" form with
its session) — goes to Django.

Predictions are admitted by a per-process ``InflightLimiter``
(``SERVING_MAX_INFLIGHT``, ``SERVING_MAX_WAIT_MS``): past it a request answers
503 with ``Retry-After`` at once instead of queueing (``serving.limits``).

On the event loop a request does no blocking I/O: the deployment, the caller's
key and the model are answered from process memory (``*_cached``), and the model
runs inline (it needs the GIL anyway). The stamp check every ``SERVING_STAMP_TTL``
is one asynchronous Redis ``GET`` shared by the requests that find it due
(``serving.stampcheck``). A miss — first request, a deployment that changed, a
token lookup — runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import os
import time
from urllib.parse import parse_qs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlops_studio.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_application = get_asgi_application()

from ..services.artifacts import artifact_store_check  # noqa: E402

artifact_store_check()  # an unreachable artifact store stops the process as it starts

from django.conf import settings  # noqa: E402
from django.db import connections  # noqa: E402

from ..errors import ApplicationError, Overloaded  # noqa: E402
from . import handler  # noqa: E402
from .explain import explainer_cached, explainer_get  # noqa: E402
from .limits import InflightLimiter  # noqa: E402
from .logbuffer import prediction_logs_close  # noqa: E402
from .logstream import publisher_aclose  # noqa: E402
from .stampcheck import loop_stamp  # noqa: E402
from .state import model_get, variants  # noqa: E402

MAX_BODY = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
JSON_HEADERS = [(b"content-type", b"application/json")]
PREDICT_PREFIX = "/api/deployments/"
limiter = InflightLimiter(settings.SERVING_MAX_INFLIGHT, settings.SERVING_MAX_WAIT_MS / 1000)


def _route(method: str, path: str) -> tuple[str, str] | None:
    """(kind, deployment name) for the paths served here; None for Django's."""
    if path.startswith(PREDICT_PREFIX):
        rest = path[len(PREDICT_PREFIX):]
        if rest.endswith("/"):
            rest = rest[:-1]
        name, _, tail = rest.partition("/")
        if tail == "predict" and name and method == "POST":
            return "predict", name
        return None
    if not path.startswith("/v2/"):
        return None
    parts = path[4:].rstrip("/").split("/")
    if parts == ["health", "live"] and method == "GET":
        return "live", ""
    if parts == ["health", "ready"] and method == "GET":
        return "ready", ""
    if len(parts) >= 2 and parts[0] == "models" and parts[1]:
        tail = parts[2:]
        if not tail and method == "GET":
            return "metadata", parts[1]
        if tail == ["ready"] and method == "GET":
            return "model_ready", parts[1]
        if tail == ["infer"] and method == "POST":
            return "infer", parts[1]
    return None


async def _send(send, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
    payload = handler.dumps(body)
    raw = [*JSON_HEADERS, (b"content-length", str(len(payload)).encode())]
    for k, v in (headers or {}).items():
        raw.append((k.lower().encode(), v.encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


async def _read_body(receive, declared: int | None) -> bytes | None:
    """The body, or None when it is larger than the limit."""
    if declared is not None and declared > MAX_BODY:
        return None
    chunks = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks) if len(chunks) != 1 else chunks[0]


def _prepare_in_thread(name: str, authorization: str | None):
    # Misses are rare (first request, a deployment that changed, a token lookup): the
    # executor's threads should not each keep a database connection open.
    try:
        return handler.prepare(name, authorization)
    finally:
        connections.close_all()


def _ready_in_thread() -> bool:
    from django.db import connection

    try:
        connection.ensure_connection()
        return True
    except Exception:  # noqa: BLE001
        return False
    finally:
        connections.close_all()


async def application(scope, receive, send):
    kind = scope["type"]
    if kind == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                # Every held log record reaches Redis (or the database) before exit.
                await publisher_aclose()
                await asyncio.to_thread(prediction_logs_close)
                await send({"type": "lifespan.shutdown.complete"})
                return
    if kind != "http":
        return await django_application(scope, receive, send)
    route = _route(scope["method"], scope["path"])
    if route is None:
        return await django_application(scope, receive, send)
    what, name = route
    authorization = request_id = None
    declared = None
    for key, value in scope["headers"]:
        if key == b"authorization":
            authorization = value.decode("latin-1")
        elif key == b"x-request-id":
            request_id = value.decode("latin-1")
        elif key == b"content-length":
            declared = int(value) if value.isdigit() else None
    v2 = what != "predict"
    if what == "live":
        return await _send(send, 200, {"live": True})
    if what == "ready":
        ok = await asyncio.to_thread(_ready_in_thread)
        return await _send(send, 200 if ok else 503, {"ready": ok})
    if what == "predict" and not authorization:
        # No header: maybe the browser's session ("try it"); Django checks it and CSRF.
        return await django_application(scope, receive, send)
    if what not in ("predict", "infer"):
        return await _answer(send, what, name, authorization, None, b"", v2)
    if not await limiter.acquire():
        busy = Overloaded(
            f"the server is at capacity ({limiter.limit} predictions in progress); retry in a second"
        )
        return await _send(send, *busy.reply(v2=v2))
    try:
        started = time.perf_counter()
        body = await _read_body(receive, declared)
        if body is None:
            too_big = ApplicationError(
                f"the request body is larger than the limit of {MAX_BODY} bytes", status=413, field="body"
            )
            return await _send(send, *too_big.reply(v2=v2))
        return await _answer(send, what, name, authorization, request_id, body, v2, started,
                             scope.get("query_string", b""))
    finally:
        limiter.release()


def _query(query: bytes, key: str) -> str | None:
    for value in parse_qs(query.decode("latin-1")).get(key, [])[:1]:
        return value
    return None


def _explainers_in_thread(served) -> None:
    """Build the explainers of every variant that may answer (reads the database, so not in the loop)."""
    try:
        for variant in (served, *variants(served)):
            explainer_get(variant, model_get(variant.artifact_sha256))
    finally:
        connections.close_all()


async def _answer(send, what: str, name: str, authorization: str | None, request_id: str | None,
                  body: bytes, v2: bool, started: float | None = None, query: bytes = b"") -> None:
    prepared = handler.prepare_cached(name, authorization) if await loop_stamp.fresh() else None
    if prepared is None:
        try:
            prepared = await asyncio.to_thread(_prepare_in_thread, name, authorization)
        except ApplicationError as exc:
            return await _send(send, *exc.reply(v2=v2))
    served, model = prepared
    if what == "predict":
        try:
            explain = handler.explain_param(_query(query, "explain"))
            if explain and any(explainer_cached(v) is None for v in (served, *variants(served))):
                await asyncio.to_thread(_explainers_in_thread, served)
        except ApplicationError as exc:
            return await _send(send, *exc.reply())
        status, out, headers = handler.predict_json(served, model, body, request_id=request_id, started=started,
                                                    explain=explain)
    elif what == "infer":
        status, out, headers = handler.infer_v2(served, model, body, request_id=request_id, started=started)
    elif what == "metadata":
        status, out, headers = 200, handler.v2_metadata(served), {}
    else:
        status, out, headers = 200, {"name": name, "ready": True}, {}
    return await _send(send, status, out, headers)
