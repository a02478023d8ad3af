"""Shadow traffic: mirror answered requests to another version, off the request path.

A request appends (variant, frame, request id, answered predictions) to an
in-process deque — no I/O, no model call. A daemon thread wakes every
``SERVING_SHADOW_FLUSH_SECONDS``, predicts each shadowed version's pending
requests in one batch (one model call for many requests, so mirroring costs the
process a fraction of what answering does), compares with what the answering
version said, and writes ``ShadowPrediction`` rows with one ``bulk_create``.
The queue is bounded: when the shadow cannot keep up, the oldest mirrored
requests are dropped (counted in ``dropped``), never the live ones slowed.
``shadow_flush()`` does the same now, in the calling thread (tests).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

FLUSH_SECONDS = float(os.environ.get("SERVING_SHADOW_FLUSH_SECONDS", "0.2"))
MAX_QUEUED = int(os.environ.get("SERVING_SHADOW_MAX_QUEUED", "20000"))

_queue: deque = deque(maxlen=MAX_QUEUED)
_lock = threading.Lock()
_thread: threading.Thread | None = None
_thread_pid: int | None = None
dropped = 0


def shadow_submit(served, frame, request_id: str, predictions: list) -> None:
    """Mirror one answered request to ``served.shadow`` (``served`` is the answering version)."""
    global dropped
    if len(_queue) == MAX_QUEUED:
        dropped += 1
    _queue.append((served.shadow, served.model_version_id, served.deployment_id, frame, request_id,
                   predictions, datetime.now(UTC)))
    if _thread is None or _thread_pid != os.getpid():
        _start()


def _start() -> None:
    global _thread, _thread_pid
    with _lock:
        if _thread is not None and _thread_pid == os.getpid():
            return
        _thread_pid = os.getpid()
        _thread = threading.Thread(target=_loop, name="shadow-mirror", daemon=True)
        _thread.start()


def _loop() -> None:
    from django.db import connections

    while True:
        time.sleep(FLUSH_SECONDS)
        try:
            shadow_flush()
        except Exception:  # noqa: BLE001 - the mirror must never take the process down
            logger.exception("shadow: a batch could not be predicted or written")
            connections.close_all()


def _agreement(mine: list, theirs: list) -> float | None:
    if len(mine) != len(theirs) or not mine:
        return None
    a, b = np.asarray(mine, dtype=object), np.asarray(theirs, dtype=object)
    try:
        same = np.isclose(a.astype(float), b.astype(float), rtol=1e-9, atol=0)
    except (TypeError, ValueError):
        same = a == b
    return float(np.mean(same))


def shadow_flush() -> int:
    """Predict and record every queued mirrored request now; returns how many were written."""
    import pandas as pd

    from ..models import ShadowPrediction
    from .runner import run
    from .state import model_get

    with _lock:
        items = list(_queue)
        _queue.clear()
    if not items:
        return 0
    by_variant: dict[tuple[int, str], list] = {}
    for item in items:
        by_variant.setdefault((item[2], item[0].artifact_sha256), []).append(item)
    rows: list[Any] = []
    for group in by_variant.values():
        variant = group[0][0]
        sig = variant.signature
        frames = [g[3] for g in group]
        sizes = [len(f) for f in frames]
        started = time.perf_counter()
        try:
            batch = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
            raw, _ = run(model_get(variant.artifact_sha256), batch, sig.columns, all_float=sig.all_float,
                         want_proba=False)
            predicted, error = raw.tolist(), ""
        except Exception as exc:  # noqa: BLE001 - a failing shadow is recorded, not raised
            predicted, error = None, f"{type(exc).__name__}: {exc}"
        per_row_ms = (time.perf_counter() - started) * 1000.0 / max(sum(sizes), 1)
        offset = 0
        for (_, answered_by, deployment_id, _, request_id, answered, at), size in zip(group, sizes, strict=True):
            mine = predicted[offset:offset + size] if predicted is not None else None
            offset += size
            rows.append(ShadowPrediction(
                deployment_id=deployment_id, model_version_id=variant.model_version_id,
                answered_by_id=answered_by, request_id=request_id, status=200 if mine is not None else 500,
                error=error, n_rows=size, outputs={"predictions": mine} if mine is not None else None,
                agreement=_agreement(mine, answered) if mine is not None else None,
                latency_ms=per_row_ms * size, created_at=at,
            ))
    ShadowPrediction.objects.bulk_create(rows, batch_size=500)
    return len(rows)
